package allreduce

// Step is one step of a pipelined point-to-point schedule for one rank: it
// sends the element range [SendLo, SendHi) to To and receives the range
// [RecvLo, RecvHi) from From, at the same time. To or From is -1 when the
// step only receives or only sends.
//
// The executor splits both ranges into segments of the same length and
// pipelines them: when SendAfterRecv is set, segment j of this step's send
// waits until segment j of the previous step's receive is complete. Schedules
// set it only where the send range of a step equals the receive range of the
// step before, so segments line up.
type Step struct {
	To, From       int
	SendLo, SendHi int
	RecvLo, RecvHi int
	// Reduce: combine the received values into the buffer (dst = dst ⊕ recv).
	// Otherwise the received values overwrite the buffer range.
	Reduce bool
	// Final: this step produces final values of the receive range (the last
	// reduce-scatter step): apply the post-reduction (mean's division).
	Final bool
	// SendAfterRecv: the send range depends on the previous step's receive.
	SendAfterRecv bool
	// SendAfterAll: the send waits until every earlier step's receive is
	// complete (DirectAllReduce's second round sends what its first
	// round's receives finished).
	SendAfterAll bool
	// SendWire and RecvWire are the step numbers carried in the frame tags;
	// a schedule sets them so that each send and its matching receive on the
	// peer agree (ring steps use the step index on both sides).
	SendWire, RecvWire int
}

// RingReduceScatter is the ring reduce-scatter for rank: N-1 steps; at step k
// rank r sends chunk (r-k-1) mod N to its right neighbour and receives and
// reduces chunk (r-k-2) mod N from its left, so that at the end rank r holds
// the fully reduced chunk r = ShardRange(n, N, r). Each chunk is reduced in
// the fixed order of the ring starting at the rank after its owner.
func RingReduceScatter(rank, size, n int) []Step {
	if size <= 1 {
		return nil
	}
	steps := make([]Step, 0, size-1)
	return appendRingRS(steps, rank, size, n)
}

// RingAllGather is the ring all-gather for rank: N-1 steps; at step k rank r
// sends chunk (r-k) mod N to the right and receives chunk (r-k-1) mod N from
// the left into place. On entry rank r must hold chunk r.
func RingAllGather(rank, size, n int) []Step {
	if size <= 1 {
		return nil
	}
	steps := make([]Step, 0, size-1)
	steps = appendRingAG(steps, rank, size, n)
	steps[0].SendAfterRecv = false
	return steps
}

// RingAllReduce is reduce-scatter followed by all-gather, 2(N-1) steps, with
// the pipeline running across the boundary (the first all-gather step sends
// the chunk the last reduce-scatter step finished). Each rank sends and
// receives 2(N-1)/N of the buffer: the bandwidth-optimal bound.
func RingAllReduce(rank, size, n int) []Step {
	if size <= 1 {
		return nil
	}
	steps := make([]Step, 0, 2*(size-1))
	steps = appendRingRS(steps, rank, size, n)
	return appendRingAG(steps, rank, size, n)
}

// ChainBroadcast pipelines the whole buffer from root along the ring: the
// root sends, every other rank receives and (unless it is the last in the
// chain) forwards segment by segment.
func ChainBroadcast(rank, size, root, n int) []Step {
	if size <= 1 {
		return nil
	}
	return appendChainBroadcast(make([]Step, 0, 2), rank, size, root, 0, n, 0)
}

// appendChainBroadcast appends rank's steps of a chain broadcast of
// [lo, hi) from root, numbered wire on both sides of every link.
func appendChainBroadcast(steps []Step, rank, size, root, lo, hi, wire int) []Step {
	right, left := (rank+1)%size, (rank-1+size)%size
	send := Step{To: right, From: -1, SendLo: lo, SendHi: hi, SendWire: wire, RecvWire: wire}
	recv := Step{To: -1, From: left, RecvLo: lo, RecvHi: hi, SendWire: wire, RecvWire: wire}
	switch dist := mod(rank-root, size); dist {
	case 0:
		return append(steps, send)
	case size - 1:
		return append(steps, recv)
	default:
		send.SendAfterRecv = true
		return append(steps, recv, send)
	}
}

func appendRingRS(steps []Step, rank, size, n int) []Step {
	right, left := (rank+1)%size, (rank-1+size)%size
	for k := 0; k < size-1; k++ {
		s := mod(rank-k-1, size)
		r := mod(rank-k-2, size)
		st := Step{To: right, From: left, Reduce: true, SendAfterRecv: k > 0, Final: k == size-2,
			SendWire: len(steps), RecvWire: len(steps)}
		st.SendLo, st.SendHi = ShardRange(n, size, s)
		st.RecvLo, st.RecvHi = ShardRange(n, size, r)
		steps = append(steps, st)
	}
	return steps
}

func appendRingAG(steps []Step, rank, size, n int) []Step {
	right, left := (rank+1)%size, (rank-1+size)%size
	for k := 0; k < size-1; k++ {
		s := mod(rank-k, size)
		r := mod(rank-k-1, size)
		st := Step{To: right, From: left, SendAfterRecv: true, SendWire: len(steps), RecvWire: len(steps)}
		st.SendLo, st.SendHi = ShardRange(n, size, s)
		st.RecvLo, st.RecvHi = ShardRange(n, size, r)
		steps = append(steps, st)
	}
	return steps
}

func mod(a, n int) int { return ((a % n) + n) % n }

// rdPlan is the recursive-doubling schedule for one rank (the latency-optimal
// all-reduce for small buffers). With p the largest power of two <= N and
// rem = N-p, the first 2*rem ranks fold in pairs: each even rank r < 2*rem
// sends its buffer to r+1 and waits for the result; the odd one reduces it
// and takes part. The p participants then exchange whole buffers with the
// partner vrank^2^k for k = 0..log2(p)-1 and reduce; both sides of an
// exchange compute a⊕b, which is bitwise the same as b⊕a, so all ranks end
// identical.
type rdPlan struct {
	// foldPeer is the fold partner (-1 when none); folded is true for the
	// rank that sends its data away and only receives the result.
	foldPeer int
	folded   bool
	// rounds is log2 p, the number of doubling steps of the participants.
	rounds int
	// partners are the real ranks exchanged with at each doubling step
	// (empty for a folded rank).
	partners []int
}

func newRDPlan(rank, size int) rdPlan {
	p := 1
	for p*2 <= size {
		p *= 2
	}
	rem := size - p
	plan := rdPlan{foldPeer: -1}
	for m := 1; m < p; m <<= 1 {
		plan.rounds++
	}
	var vrank int
	switch {
	case rank < 2*rem && rank%2 == 0:
		plan.foldPeer, plan.folded = rank+1, true
		return plan
	case rank < 2*rem:
		plan.foldPeer = rank - 1
		vrank = rank / 2
	default:
		vrank = rank - rem
	}
	for mask := 1; mask < p; mask <<= 1 {
		pv := vrank ^ mask
		real := pv + rem
		if pv < rem {
			real = pv*2 + 1
		}
		plan.partners = append(plan.partners, real)
	}
	return plan
}
