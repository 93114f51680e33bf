package allreduce

import "context"

// recursiveDoubling runs the rdPlan: fold (step 0), log2 p exchanges (steps
// 1..L), unfold (step L+1). Each exchange sends the whole current buffer on
// the sender goroutine while this goroutine receives the partner's into
// scratch; the reduction happens after both are complete, because the send
// must carry the values from before the step. Every step sends at least one
// frame, so with an empty buffer this is a barrier.
func (c *Comm) recursiveDoubling(ctx context.Context, op Op, buf []float32, rop ReduceOp) error {
	n := len(buf)
	scratch := c.mu.scratch[:n]
	last := c.rd.rounds + 1
	if c.rd.folded {
		if err := c.exchange(ctx, op, 0, c.rd.foldPeer, -1, buf, nil); err != nil {
			return err
		}
		return c.exchange(ctx, op, last, -1, c.rd.foldPeer, nil, buf)
	}
	if c.rd.foldPeer >= 0 {
		if err := c.exchange(ctx, op, 0, -1, c.rd.foldPeer, nil, scratch); err != nil {
			return err
		}
		combine(rop, buf, scratch)
	}
	for k, p := range c.rd.partners {
		if err := c.exchange(ctx, op, k+1, p, p, buf, scratch); err != nil {
			return err
		}
		combine(rop, buf, scratch)
	}
	finish(rop, buf, c.size)
	if c.rd.foldPeer >= 0 {
		return c.exchange(ctx, op, last, c.rd.foldPeer, -1, buf, nil)
	}
	return nil
}

// exchange sends out to peer to (if to >= 0) while receiving from peer from
// into in (if from >= 0), as one schedule step numbered step, at least one
// frame each way.
func (c *Comm) exchange(ctx context.Context, op Op, step, to, from int, out, in []float32) error {
	c.mu.oneStep[0] = Step{To: to, From: from, SendHi: len(out), RecvHi: len(in), SendWire: step, RecvWire: step}
	return c.runPipeline(ctx, op, c.mu.oneStep[:], nil, 1, out, in, Sum)
}
