package allreduce

import (
	"fmt"
	"slices"
)

// ShardRange returns the half-open element range [lo, hi) of part i when n
// elements are split into parts contiguous parts whose sizes differ by at
// most one (the first n%parts parts get one extra element). It is the
// partition every collective uses: rank r owns ShardRange(n, size, r) after
// ReduceScatter and contributes it to AllGather.
func ShardRange(n, parts, i int) (lo, hi int) {
	base, rem := n/parts, n%parts
	lo = i*base + min(i, rem)
	hi = lo + base
	if i < rem {
		hi++
	}
	return lo, hi
}

// Peers returns the ranks that rank talks to in any collective of this
// package for the given world size, in increasing order: its ring
// neighbours and its recursive-doubling partners. The relation is
// symmetric (a lists b exactly when b lists a), so transports can connect
// exactly these pairs.
func Peers(rank, size int) []int {
	if size <= 1 {
		return nil
	}
	seen := make(map[int]bool)
	add := func(p int) {
		if p != rank && p >= 0 && p < size {
			seen[p] = true
		}
	}
	add((rank + 1) % size)
	add((rank - 1 + size) % size)
	rd := newRDPlan(rank, size)
	add(rd.foldPeer)
	for _, p := range rd.partners {
		add(p)
	}
	out := make([]int, 0, len(seen))
	for p := range size {
		if seen[p] {
			out = append(out, p)
		}
	}
	return out
}

// PeersHosts is Peers for a Comm whose Config.Hosts is hosts (nil: Peers):
// the flat ring's and recursive doubling's peers plus, where the
// hierarchical all-reduce applies, the chain neighbours inside rank's host
// and, for a host's leader, its neighbours in the leaders' ring. The
// relation is symmetric. An invalid host map (see Config.Hosts) is an
// error.
func PeersHosts(rank, size int, hosts []int) ([]int, error) {
	if rank < 0 || rank >= size {
		return nil, fmt.Errorf("allreduce: rank %d outside world size %d", rank, size)
	}
	if err := validateHosts(hosts, size); err != nil {
		return nil, err
	}
	out := Peers(rank, size)
	if h := newHierPlan(rank, hosts); h != nil {
		for _, p := range h.neighbours() {
			if p != rank && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
		slices.Sort(out)
	}
	return out, nil
}
