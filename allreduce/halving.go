package allreduce

// HalvingAllReduce is the recursive-halving reduce-scatter followed by the
// recursive-doubling all-gather (Rabenseifner's all-reduce) for rank of a
// power-of-two world: log2 N exchanges with the partners rank^N/2, ...,
// rank^1, each sending the half of the current block the partner keeps and
// reducing the half this rank keeps, leave rank r holding chunk r =
// ShardRange(n, N, r); the same exchanges in reverse order gather the
// blocks back. Each rank sends 2(N-1)/N of the buffer, as the ring does,
// in 2·log2 N steps instead of 2(N-1): with more ranks than cores each step
// waits for its partner to be scheduled, and on 4 ranks over 2 cores it
// took 20–37% less time than the direct all-reduce at 256 KiB
// (docs/benchmarks.md, "Runs E, F and G"). Each element is reduced by exactly
// one rank per exchange with a⊕b = b⊕a and then copied, so every rank ends
// bitwise identical. The partners are recursive doubling's, which Peers
// links.
func HalvingAllReduce(rank, size, n int) []Step {
	if size <= 1 || size&(size-1) != 0 {
		return nil
	}
	var steps []Step
	clo, chi := 0, size // the block of chunks this rank still reduces
	rng := func(a, b int) (int, int) {
		lo, _ := ShardRange(n, size, a)
		_, hi := ShardRange(n, size, b-1)
		return lo, hi
	}
	for m := size / 2; m >= 1; m /= 2 {
		mid := (clo + chi) / 2
		keepLo, keepHi, sendLo, sendHi := clo, mid, mid, chi
		if rank&m != 0 {
			keepLo, keepHi, sendLo, sendHi = mid, chi, clo, mid
		}
		st := Step{To: rank ^ m, From: rank ^ m, Reduce: true, SendAfterAll: len(steps) > 0, Final: m == 1,
			SendWire: len(steps), RecvWire: len(steps)}
		st.SendLo, st.SendHi = rng(sendLo, sendHi)
		st.RecvLo, st.RecvHi = rng(keepLo, keepHi)
		steps = append(steps, st)
		clo, chi = keepLo, keepHi
	}
	for m := 1; m < size; m *= 2 {
		// The partner holds the sibling block of the same size.
		w := chi - clo
		plo := clo ^ w // blocks are aligned to their size
		st := Step{To: rank ^ m, From: rank ^ m, SendAfterAll: true, SendWire: len(steps), RecvWire: len(steps)}
		st.SendLo, st.SendHi = rng(clo, chi)
		st.RecvLo, st.RecvHi = rng(plo, plo+w)
		steps = append(steps, st)
		clo, chi = min(clo, plo), max(chi, plo+w)
	}
	return steps
}

// HalvingApplies says whether HalvingAllReduce runs in a world of size: a
// power of two of at least 4 (with 2 ranks it is the ring's schedule).
func HalvingApplies(size int) bool { return size >= 4 && size&(size-1) == 0 }
