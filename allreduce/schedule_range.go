package allreduce

// RangeReduceScatter is the reduce-scatter of the sub-range [lo, hi) of an
// n-element buffer for rank (a bucket of a bucketed backward pass). The range
// is cut by the shards ShardRange(n, size, o); for every owner o, in
// increasing order, whose piece P = [lo, hi) ∩ shard(o) is not empty, P is
// reduced by a pipelined chain along the ring toward o: rank o+1 sends P to
// o+2, every next rank receives it segment by segment, reduces it into its
// buffer and forwards it, and o receives, reduces and applies the
// post-reduction (Final). Each element is thereby reduced in the order
// o+1, o+2, ..., o: the order RingReduceScatter uses for the chunk of owner
// o, so the owner ends with the same bits as after RingReduceScatter.
//
// Only ring neighbours talk. Every piece's frames carry the owner o as their
// step number on both ends of every link. Each rank sends everything of
// [lo, hi) outside its own shard once, as the ring does for the whole buffer.
func RangeReduceScatter(rank, size, n, lo, hi int) []Step {
	return rangeSchedule(rank, size, n, lo, hi, appendChainReduce)
}

// RangeAllGather is the all-gather of the sub-range [lo, hi): on entry rank
// o holds the final values of [lo, hi) ∩ ShardRange(n, size, o); for every
// owner o, in increasing order, whose piece is not empty, o broadcasts its
// piece along the ring (ChainBroadcast restricted to the piece, step number
// o), so that on return every rank holds all of [lo, hi).
func RangeAllGather(rank, size, n, lo, hi int) []Step {
	return rangeSchedule(rank, size, n, lo, hi, appendChainBroadcast)
}

// rangeSchedule concatenates one chain per non-empty piece of [lo, hi), in
// increasing owner order, each numbered with its owner.
func rangeSchedule(rank, size, n, lo, hi int, chain func(steps []Step, rank, size, owner, lo, hi, wire int) []Step) []Step {
	if size <= 1 || lo >= hi {
		return nil
	}
	var steps []Step
	for o := range size {
		a, b := ShardRange(n, size, o)
		a, b = max(a, lo), min(b, hi)
		if a < b {
			steps = chain(steps, rank, size, o, a, b, o)
		}
	}
	return steps
}

// appendChainReduce appends rank's steps of the chain that reduces [lo, hi)
// toward owner: the rank after owner only sends, the owner only receives
// (reduce, Final), every rank between receives, reduces and forwards.
func appendChainReduce(steps []Step, rank, size, owner, lo, hi, wire int) []Step {
	right, left := (rank+1)%size, (rank-1+size)%size
	send := Step{To: right, From: -1, SendLo: lo, SendHi: hi, SendWire: wire, RecvWire: wire}
	recv := Step{To: -1, From: left, RecvLo: lo, RecvHi: hi, Reduce: true, SendWire: wire, RecvWire: wire}
	switch dist := mod(rank-owner, size); dist {
	case 1:
		return append(steps, send)
	case 0:
		recv.Final = true
		return append(steps, recv)
	default:
		send.SendAfterRecv = true
		return append(steps, recv, send)
	}
}
