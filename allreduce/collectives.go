package allreduce

import (
	"context"
	"fmt"
	"time"
)

// AllReduce combines buf element-wise across all ranks with op; on return
// every rank's buf holds the same result, bit for bit. When every rank
// shares the transport's memory (SharedReducer; not with Config.NoShared
// nor with a Config.Hosts that spans hosts) it runs the transport's shared
// all-reduce. Otherwise buffers of at most Config.SmallBytes use recursive
// doubling; larger ones the hierarchical all-reduce when Config.Hosts
// calls for it, else up to Config.HalvingBytes
// (or the transport's lower HalvingAdvisor advice where direct applies too)
// recursive halving and doubling where it applies (a power-of-two world of
// 4 or more: HalvingAllReduce), else up to Config.DirectBytes the direct
// two-round algorithm where it applies (3 or 4 ranks: DirectAllReduce),
// else the pipelined ring.
// Every rank must pass the same length. A zero-length buffer returns at once
// without communicating.
func (c *Comm) AllReduce(ctx context.Context, buf []float32, op ReduceOp) error {
	if !op.valid() {
		return fmt.Errorf("allreduce: unknown reduce op %d", op)
	}
	if len(buf) == 0 {
		return nil
	}
	if err := c.begin(ctx); err != nil {
		return err
	}
	defer c.mu.Unlock()
	var err error
	hier := c.hier != nil && len(buf) >= len(c.hier.leaders)
	alg := chooseAllReduce(c.size, len(buf), c.smallLen, c.halvingLen, c.directLen, hier)
	if c.shared != nil && alg != 0 {
		alg = OpAllReduceShared
	}
	switch alg {
	case 0:
		finish(op, buf, 1)
	case OpAllReduceShared:
		err = c.sharedAllReduce(ctx, buf, op)
	case OpAllReduceRD:
		err = c.recursiveDoubling(ctx, OpAllReduceRD, buf, op)
	default:
		s := c.schedule(schedKey{op: alg, n: len(buf)})
		err = c.runPipeline(ctx, alg, s.steps, s.prefix, 0, buf, buf, op)
	}
	if err != nil {
		return c.failed(err)
	}
	return nil
}

// sharedAllReduce runs AllReduce through the transport's shared memory,
// then applies the post-reduction (Mean), which every rank does alike.
func (c *Comm) sharedAllReduce(ctx context.Context, buf []float32, op ReduceOp) error {
	if c.bulk != nil && 4*len(buf) >= bulkBytes {
		c.bulk.Bulk(true)
		defer c.bulk.Bulk(false)
	}
	var start time.Time
	if c.tracer != nil {
		start = time.Now()
	}
	if err := c.shared.SharedAllReduce(ctx, Tag{Op: OpAllReduceShared, Seq: c.mu.seq}, buf, op); err != nil {
		return err
	}
	if c.tracer != nil {
		c.tracer(OpAllReduceShared, 0, start, time.Now())
	}
	finish(op, buf, c.size)
	return nil
}

// ReduceScatter combines buf across ranks with op, leaving this rank's shard
// buf[lo:hi] = ShardRange(len(buf), Size(), Rank()) fully reduced (bitwise
// what the ring all-reduce would produce there; AllReduce's other
// algorithms add in other orders). The rest of buf holds partial sums on
// return and must be treated as scratch.
func (c *Comm) ReduceScatter(ctx context.Context, buf []float32, op ReduceOp) (lo, hi int, err error) {
	lo, hi = ShardRange(len(buf), c.size, c.rank)
	if !op.valid() {
		return lo, hi, fmt.Errorf("allreduce: unknown reduce op %d", op)
	}
	if len(buf) == 0 {
		return lo, hi, nil
	}
	if err := c.begin(ctx); err != nil {
		return lo, hi, err
	}
	defer c.mu.Unlock()
	if c.size == 1 {
		finish(op, buf, 1)
		return lo, hi, nil
	}
	s := c.schedule(schedKey{op: OpReduceScatter, n: len(buf)})
	if err := c.runPipeline(ctx, OpReduceScatter, s.steps, s.prefix, 0, buf, buf, op); err != nil {
		return lo, hi, c.failed(err)
	}
	return lo, hi, nil
}

// AllGather fills buf on every rank from the ranks' shards: on entry rank r
// must hold buf[ShardRange(len(buf), Size(), r)]; on return every rank holds
// every shard.
func (c *Comm) AllGather(ctx context.Context, buf []float32) error {
	return c.pipelined(ctx, OpAllGather, buf, 0)
}

// Broadcast copies root's buf to every rank, pipelined along the ring.
func (c *Comm) Broadcast(ctx context.Context, buf []float32, root int) error {
	if root < 0 || root >= c.size {
		return fmt.Errorf("allreduce: broadcast root %d outside world size %d", root, c.size)
	}
	return c.pipelined(ctx, OpBroadcast, buf, root)
}

func (c *Comm) pipelined(ctx context.Context, op Op, buf []float32, root int) error {
	if len(buf) == 0 {
		return nil
	}
	if err := c.begin(ctx); err != nil {
		return err
	}
	defer c.mu.Unlock()
	if c.size == 1 {
		return nil
	}
	s := c.schedule(schedKey{op: op, n: len(buf), root: root})
	if err := c.runPipeline(ctx, op, s.steps, s.prefix, 0, buf, buf, Sum); err != nil {
		return c.failed(err)
	}
	return nil
}

// Shift sends send to the next rank of the ring ((rank+1) mod size) while
// it receives the previous rank's send into recv, one step with at least one
// frame each way: the replication of every rank's unique state to its
// successor (the worker's replica stream). recv must be exactly as long as
// the previous rank's send, or Shift fails with ErrProtocol on this rank.
// Lengths may differ between ranks, so each side's frames carry its own
// frame count as the tag's step: a recv that needs another number of frames
// fails on the first frame (its tag), one that needs as many on the last
// (its length); a receiver never waits for a frame that is not coming nor
// leaves one unread. send and recv must not overlap. With one rank it does
// nothing.
func (c *Comm) Shift(ctx context.Context, send, recv []float32) error {
	if err := c.begin(ctx); err != nil {
		return err
	}
	defer c.mu.Unlock()
	if c.size == 1 {
		return nil
	}
	next, prev := (c.rank+1)%c.size, (c.rank+c.size-1)%c.size
	c.mu.oneStep[0] = Step{To: next, From: prev, SendHi: len(send), RecvHi: len(recv),
		SendWire: c.segCount(len(send), 1), RecvWire: c.segCount(len(recv), 1)}
	if err := c.runPipeline(ctx, OpShift, c.mu.oneStep[:], nil, 1, send, recv, Sum); err != nil {
		return c.failed(err)
	}
	return nil
}

// Barrier returns once every rank has entered it (recursive doubling with
// empty frames: log2 N rounds).
func (c *Comm) Barrier(ctx context.Context) error {
	if err := c.begin(ctx); err != nil {
		return err
	}
	defer c.mu.Unlock()
	if c.size == 1 {
		return nil
	}
	if err := c.recursiveDoubling(ctx, OpBarrier, nil, Sum); err != nil {
		return c.failed(err)
	}
	return nil
}

// AllReduceAlgorithm is the collective AllReduce runs for n floats on size
// ranks with cfg: OpAllReduceRD, OpAllReduceHier (hier: the host map calls
// for it at this length), OpAllReduceHalving, OpAllReduceDirect or
// OpAllReduceRing; 0 with one rank (nothing to send). It takes no
// transport's advice (HalvingAdvisor).
func AllReduceAlgorithm(cfg Config, size, n int, hier bool) Op {
	halving, direct := 0, 0
	if HalvingApplies(size) {
		halving = cfg.HalvingBytes / 4
	}
	if DirectApplies(size) {
		direct = cfg.DirectBytes / 4
	}
	return chooseAllReduce(size, n, cfg.SmallBytes/4, halving, direct, hier)
}

// chooseAllReduce is AllReduce's choice by length (floats): the thresholds
// are 0 where the algorithm does not apply to this world.
func chooseAllReduce(size, n, smallLen, halvingLen, directLen int, hier bool) Op {
	switch {
	case size == 1:
		return 0
	case n <= smallLen:
		return OpAllReduceRD
	case hier:
		return OpAllReduceHier
	case n <= halvingLen:
		return OpAllReduceHalving
	case n <= directLen:
		return OpAllReduceDirect
	}
	return OpAllReduceRing
}
