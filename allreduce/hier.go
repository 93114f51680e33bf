package allreduce

import (
	"fmt"
	"slices"
)

// hierPlan is one rank's place in the hierarchical all-reduce: the ranks of
// its host (the chain) and the hosts' leaders (the ring).
type hierPlan struct {
	// leaders holds the lowest rank of every host, in increasing order: the
	// leaders' ring runs in this order.
	leaders []int
	// pos is the position of this rank's host (its leader) in leaders.
	pos int
	// local holds the ranks of this rank's host in increasing order; the
	// leader is local[0]. idx is this rank's index in local.
	local []int
	idx   int
}

// validateHosts checks a host map for a world of size ranks: nil, or one
// host index in [0, size) per rank (a world of N ranks spans at most N
// hosts).
func validateHosts(hosts []int, size int) error {
	if hosts == nil {
		return nil
	}
	if len(hosts) != size {
		return fmt.Errorf("allreduce: Hosts has %d entries for a world of %d ranks: want one host index per rank", len(hosts), size)
	}
	for r, h := range hosts {
		if h < 0 || h >= size {
			return fmt.Errorf("allreduce: Hosts[%d] = %d: want a host index in [0, %d)", r, h, size)
		}
	}
	return nil
}

// newHierPlan returns rank's plan, or nil when the hierarchical algorithm
// does not apply: no host map, a single host, or one rank per host (where it
// is the flat ring). hosts must be valid (validateHosts).
func newHierPlan(rank int, hosts []int) *hierPlan {
	if len(hosts) == 0 {
		return nil
	}
	leaderOf := make(map[int]int) // host -> lowest rank
	crowded := false
	for r, h := range hosts {
		if _, ok := leaderOf[h]; ok {
			crowded = true
			continue
		}
		leaderOf[h] = r
	}
	if len(leaderOf) < 2 || !crowded {
		return nil
	}
	p := &hierPlan{}
	for _, l := range leaderOf {
		p.leaders = append(p.leaders, l)
	}
	slices.Sort(p.leaders)
	p.pos = slices.Index(p.leaders, leaderOf[hosts[rank]])
	for r, h := range hosts {
		if h == hosts[rank] {
			if r == rank {
				p.idx = len(p.local)
			}
			p.local = append(p.local, r)
		}
	}
	return p
}

// HierAllReduce is rank's schedule of the hierarchical all-reduce of n
// elements over the host map hosts (host index of every rank), or nil when
// it does not apply (see Config.Hosts). With M hosts (leader = lowest rank of
// a host, leaders ordered by rank), the buffer cut into M chunks
// (ShardRange(n, M, c)) and p the position of rank's leader in the leaders'
// ring, it runs three phases, chunk by chunk so that the executor's segment
// pipelining carries across them:
//
//  1. reduce inside each host along the chain of its ranks, highest rank
//     first, toward the leader: rank i of the host receives and reduces each
//     chunk from rank i+1 and forwards the sum to rank i-1, in the order
//     p-1, p-2, …, p (mod M).
//  2. the ring all-reduce (RingAllReduce) among the M leaders. A leader takes
//     the host's chunk p-1-k just before reduce-scatter step k sends that
//     chunk, so the ring starts after the first chunk (the host's later
//     chunks queue in its links meanwhile), and the host's own chunk p last:
//     that reduction finishes chunk p (Mean divides there, once, by the
//     world size) before the all-gather sends it.
//  3. broadcast the leader's result along the same chain, leader first, in
//     the order p+1, p+2, …, p: chunk p+1 is the one the ring receives last,
//     so the first broadcast send follows it segment by segment, and by then
//     every other chunk is final.
//
// Step (wire) numbers: phase 1 chunk k is k, ring step k is M+k, phase 3
// chunk j is 3M-2+j. It needs n >= M (every chunk non-empty); AllReduce
// uses the flat ring below that.
func HierAllReduce(rank int, hosts []int, n int) []Step {
	if rank < 0 || rank >= len(hosts) || validateHosts(hosts, len(hosts)) != nil {
		return nil
	}
	h := newHierPlan(rank, hosts)
	if h == nil {
		return nil
	}
	return h.steps(n)
}

func (h *hierPlan) steps(n int) []Step {
	m, l, p, i := len(h.leaders), len(h.local), h.pos, h.idx
	if n < m {
		return nil
	}
	chunk := func(c int) (int, int) { return ShardRange(n, m, mod(c, m)) }
	var steps []Step
	// Phase 1 at a non-leader: chain reduce toward the leader, chunk k of
	// the order p-1, p-2, …, p (the order the leader takes them in).
	if i > 0 {
		for k := range m {
			lo, hi := chunk(p - 1 - k)
			if i < l-1 {
				steps = append(steps, Step{To: -1, From: h.local[i+1], RecvLo: lo, RecvHi: hi, Reduce: true, SendWire: k, RecvWire: k})
			}
			steps = append(steps, Step{To: h.local[i-1], From: -1, SendLo: lo, SendHi: hi, SendAfterRecv: i < l-1, SendWire: k, RecvWire: k})
		}
	}
	if i == 0 {
		// Phases 1 and 2 at the leader: the host's chunk p-1-k arrives just
		// before ring step k sends it, so the ring starts after one chunk
		// and the host's later chunks queue in the links meanwhile; the own
		// chunk p comes last and finishes it (Mean divides there).
		local := func(k int) Step {
			lo, hi := chunk(p - 1 - k)
			return Step{To: -1, From: h.local[1], RecvLo: lo, RecvHi: hi, Reduce: true, SendWire: k, RecvWire: k}
		}
		ring := RingAllReduce(p, m, n)
		for k, st := range ring {
			st.To, st.From = h.leaders[st.To], h.leaders[st.From]
			st.SendWire, st.RecvWire = m+k, m+k
			if l > 1 && k < m-1 { // reduce-scatter step k sends chunk p-1-k
				steps = append(steps, local(k))
				st.SendAfterRecv = true
			}
			if l > 1 && k == m-2 {
				st.Final = false
				steps = append(steps, st)
				last := local(m - 1)
				last.Final = true
				steps = append(steps, last)
				continue
			}
			steps = append(steps, st)
		}
	}
	if l > 1 { // phase 3: chain broadcast from the leader
		for j := range m {
			lo, hi := chunk(p + 1 + j)
			w := 3*m - 2 + j
			if i > 0 {
				steps = append(steps, Step{To: -1, From: h.local[i-1], RecvLo: lo, RecvHi: hi, SendWire: w, RecvWire: w})
			}
			if i < l-1 {
				steps = append(steps, Step{To: h.local[i+1], From: -1, SendLo: lo, SendHi: hi, SendAfterRecv: i > 0 || j == 0, SendWire: w, RecvWire: w})
			}
		}
	}
	return steps
}

// neighbours are the ranks this rank links to in the hierarchical
// all-reduce: its chain neighbours in the host and, for a leader, its ring
// neighbours among the leaders.
func (h *hierPlan) neighbours() []int {
	var out []int
	if h.idx > 0 {
		out = append(out, h.local[h.idx-1])
	}
	if h.idx < len(h.local)-1 {
		out = append(out, h.local[h.idx+1])
	}
	if h.idx == 0 {
		m := len(h.leaders)
		out = append(out, h.leaders[(h.pos+1)%m], h.leaders[(h.pos-1+m)%m])
	}
	return out
}
