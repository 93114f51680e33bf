package allreduce

import (
	"context"
	"fmt"
)

// ReduceScatterRange reduces buf[lo:hi] across ranks with op so that, for
// every rank r, the part of [lo, hi) inside ShardRange(len(buf), Size(), r)
// is fully reduced on rank r, bitwise identical to what ReduceScatter(buf)
// gives there. It is the reduce-scatter of one bucket of a bucketed backward
// pass: reducing every bucket of a partition of buf leaves each rank's shard
// exactly as one ReduceScatter would. Other values in [lo, hi) are scratch
// afterwards; values outside [lo, hi) are untouched. Every rank must pass the
// same length, lo and hi; an empty range returns at once without
// communicating. The schedule is RangeReduceScatter.
func (c *Comm) ReduceScatterRange(ctx context.Context, buf []float32, lo, hi int, op ReduceOp) error {
	if !op.valid() {
		return fmt.Errorf("allreduce: unknown reduce op %d", op)
	}
	return c.rangeCollective(ctx, OpReduceScatterRange, buf, lo, hi, op)
}

// AllGatherRange fills buf[lo:hi] on every rank from the ranks' shards: on
// entry every rank r holds the final values of [lo, hi) ∩
// ShardRange(len(buf), Size(), r); on return every rank holds all of
// buf[lo:hi]. Values outside [lo, hi) are untouched. Every rank must pass the
// same length, lo and hi; an empty range returns at once without
// communicating. The schedule is RangeAllGather.
func (c *Comm) AllGatherRange(ctx context.Context, buf []float32, lo, hi int) error {
	return c.rangeCollective(ctx, OpAllGatherRange, buf, lo, hi, Sum)
}

func (c *Comm) rangeCollective(ctx context.Context, op Op, buf []float32, lo, hi int, rop ReduceOp) error {
	if lo < 0 || lo > hi || hi > len(buf) {
		return fmt.Errorf("allreduce: %v: range [%d, %d) outside a buffer of %d", op, lo, hi, len(buf))
	}
	if lo == hi {
		return nil
	}
	if err := c.begin(ctx); err != nil {
		return err
	}
	defer c.mu.Unlock()
	if c.size == 1 {
		if op == OpReduceScatterRange {
			finish(rop, buf[lo:hi], 1)
		}
		return nil
	}
	s := c.schedule(schedKey{op: op, n: len(buf), lo: lo, hi: hi})
	if err := c.runPipeline(ctx, op, s.steps, s.prefix, 0, buf, buf, rop); err != nil {
		return c.failed(err)
	}
	return nil
}
