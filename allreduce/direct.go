package allreduce

// DirectAllReduce is the direct two-round all-reduce for rank: in round 0
// every rank sends chunk q = ShardRange(n, size, q) of its buffer straight
// to its owner q (to rank+1, rank+2, ... in turn), and the owner reduces
// the chunks it receives into its own in the order it receives them (from
// rank-1, rank-2, ...) and finishes it; in round 1 the owner sends its
// finished chunk straight to every other rank (SendAfterAll: once every
// round-0 receive is done) and receives theirs into place. Each rank sends
// 2(N-1)/N of the buffer, as the ring does, but in 2 rounds instead of
// 2(N-1) dependent steps: what a medium buffer on a few ranks waits for is
// the steps, each needing its peer scheduled (measured: docs/benchmarks.md,
// "Runs E, F and G"). Every chunk is reduced once, by its owner,
// in a fixed order, then copied: ranks end bitwise identical and runs are
// repeatable. It needs a link between every pair of ranks (see DirectApplies).
func DirectAllReduce(rank, size, n int) []Step {
	if size <= 1 {
		return nil
	}
	steps := make([]Step, 0, 4*(size-1))
	lo, hi := ShardRange(n, size, rank)
	for k := 1; k < size; k++ {
		q := (rank + k) % size
		st := Step{To: q, From: -1}
		st.SendLo, st.SendHi = ShardRange(n, size, q)
		steps = append(steps, st)
	}
	for k := 1; k < size; k++ {
		steps = append(steps, Step{To: -1, From: mod(rank-k, size), RecvLo: lo, RecvHi: hi, Reduce: true, Final: k == size-1})
	}
	for k := 1; k < size; k++ {
		steps = append(steps, Step{To: (rank + k) % size, From: -1, SendLo: lo, SendHi: hi, SendAfterAll: true, SendWire: 1, RecvWire: 1})
	}
	for k := 1; k < size; k++ {
		p := mod(rank-k, size)
		st := Step{To: -1, From: p, SendWire: 1, RecvWire: 1}
		st.RecvLo, st.RecvHi = ShardRange(n, size, p)
		steps = append(steps, st)
	}
	return steps
}

// DirectApplies says whether the direct all-reduce can run in a world of size:
// at least 3 ranks (with 2 it is the ring), and Peers linking every pair
// (3 and 4 ranks, where the ring's and recursive doubling's links already
// do). A pure function of size, so every rank decides the same.
func DirectApplies(size int) bool {
	if size < 3 {
		return false
	}
	for r := range size {
		if len(Peers(r, size)) != size-1 {
			return false
		}
	}
	return true
}
