package allreduce

// RangeReduceScatter is the reduce-scatter of the sub-range [lo, hi) of an
// n-element buffer for rank (a bucket of a bucketed backward pass): the ring
// reduce-scatter whose chunk c is the piece [lo, hi) ∩ ShardRange(n, size, c)
// instead of the whole shard. Each piece travels the ring from the rank
// after its owner to the owner, reduced at every hop and pipelined segment
// by segment (SendAfterRecv), all pieces at once on different links. Each
// element is reduced in the order o+1, o+2, ..., o, as RingReduceScatter
// does for the chunk of owner o, so the owner ends with the same bits.
//
// A bucket inside one shard degenerates to a pipelined chain toward its
// owner; a bucket spread over the shards uses every link like the ring.
// Steps whose send and receive pieces are both empty are left out (their
// neighbours' are empty too); the frames keep the ring's step numbers.
func RangeReduceScatter(rank, size, n, lo, hi int) []Step {
	if size <= 1 || lo >= hi {
		return nil
	}
	right, left := (rank+1)%size, (rank-1+size)%size
	var steps []Step
	for k := 0; k < size-1; k++ {
		st := Step{To: right, From: left, Reduce: true, SendAfterRecv: k > 0, Final: k == size-2, SendWire: k, RecvWire: k}
		st.SendLo, st.SendHi = piece(n, size, mod(rank-k-1, size), lo, hi)
		st.RecvLo, st.RecvHi = piece(n, size, mod(rank-k-2, size), lo, hi)
		steps = appendNonEmpty(steps, st)
	}
	return steps
}

// RangeAllGather is the all-gather of the sub-range [lo, hi): on entry rank
// o holds the final values of [lo, hi) ∩ ShardRange(n, size, o); it is the
// ring all-gather over those pieces, so on return every rank holds all of
// [lo, hi). Empty steps are left out as in RangeReduceScatter.
func RangeAllGather(rank, size, n, lo, hi int) []Step {
	if size <= 1 || lo >= hi {
		return nil
	}
	right, left := (rank+1)%size, (rank-1+size)%size
	var steps []Step
	for k := 0; k < size-1; k++ {
		st := Step{To: right, From: left, SendAfterRecv: k > 0, SendWire: k, RecvWire: k}
		st.SendLo, st.SendHi = piece(n, size, mod(rank-k, size), lo, hi)
		st.RecvLo, st.RecvHi = piece(n, size, mod(rank-k-1, size), lo, hi)
		steps = appendNonEmpty(steps, st)
	}
	return steps
}

// piece is [lo, hi) ∩ ShardRange(n, size, c), empty ranges as (lo, lo).
func piece(n, size, c, lo, hi int) (int, int) {
	a, b := ShardRange(n, size, c)
	a, b = max(a, lo), min(b, hi)
	if a >= b {
		return lo, lo
	}
	return a, b
}

// appendNonEmpty appends st unless it neither sends nor receives. A step
// whose send is not empty follows one whose receive is the same piece, so
// SendAfterRecv still refers to the right step.
func appendNonEmpty(steps []Step, st Step) []Step {
	if st.SendLo == st.SendHi && st.RecvLo == st.RecvHi {
		return steps
	}
	if st.SendLo == st.SendHi {
		st.To, st.SendAfterRecv = -1, false
	}
	if st.RecvLo == st.RecvHi {
		st.From, st.Reduce, st.Final = -1, false, false
	}
	return append(steps, st)
}
