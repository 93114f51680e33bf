package allreduce

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// sendLoop is the Comm's only goroutine: it runs the send side of every
// collective so that sending and receiving proceed at the same time.
func (c *Comm) sendLoop() {
	defer c.wg.Done()
	for {
		select {
		case <-c.quit:
			return
		case <-c.jobs:
		}
		err := c.runSends(&c.job)
		if err != nil && !errors.Is(err, errStopped) {
			err = causedByContext(c.job.ctx, err)
			c.fail(err) // unblocks the receiving side
		}
		c.sendDone <- err
	}
}

func (c *Comm) runSends(j *sendJob) error {
	for k, st := range j.steps {
		if st.To < 0 {
			continue
		}
		nseg := c.segCount(st.SendHi-st.SendLo, j.minFrames)
		if st.SendAfterAll {
			if err := c.waitProgress(j.prefix[k]); err != nil {
				return err
			}
		}
		for s := range nseg {
			if st.SendAfterRecv {
				if err := c.waitProgress(j.prefix[k-1] + s + 1); err != nil {
					return err
				}
			}
			lo, hi := c.segBounds(st.SendLo, st.SendHi, s)
			tag := Tag{Op: j.op, Seq: j.seq, Step: uint32(st.SendWire), Chunk: uint32(s)}
			data := j.buf[lo:hi]
			if j.half != CompressNone {
				data = pack(j.half, c.packSend, data)
			}
			if err := c.t.Send(j.ctx, st.To, tag, data); err != nil {
				return err
			}
		}
	}
	return nil
}

// causedByContext names ctx's end as the cause of err when ctx has ended:
// the side that noticed it first aborts the transport, so the other side may
// fail with ErrAborted first, and the Comm keeps the first cause it is told.
// Both stay in the chain.
func causedByContext(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w: %w", cerr, err)
	}
	return err
}

func (c *Comm) waitProgress(need int) error {
	for c.progress.Load() < int64(need) {
		select {
		case <-c.wake:
		case <-c.stop:
			return errStopped
		}
	}
	return nil
}

// runPipeline executes steps: sends on the sender goroutine, receives (and
// reduces) on the calling goroutine, segment by segment.
//
// The send side reads sendBuf and the receive side writes recvBuf (the same
// slice for every schedule but recursive doubling's exchanges).
func (c *Comm) runPipeline(ctx context.Context, op Op, steps []Step, prefix []int, minFrames int, sendBuf, recvBuf []float32, rop ReduceOp) error {
	if c.bulk != nil && len(recvBuf)*4 >= bulkBytes {
		c.bulk.Bulk(true)
		defer c.bulk.Bulk(false)
	}
	if ahead, ok := c.sequentialAhead(steps, minFrames); ok {
		return c.runSequential(ctx, op, steps, minFrames, ahead, sendBuf, recvBuf, rop)
	}
	c.progress.Store(0)
	select { // a token left over from an earlier failed call
	case <-c.stop:
	default:
	}
	c.job = sendJob{ctx: ctx, op: op, seq: c.mu.seq, steps: steps,
		prefix: prefix, buf: sendBuf, minFrames: minFrames, half: c.compression(op)}
	select {
	case c.jobs <- struct{}{}:
	case <-c.quit:
		return ErrClosed
	}
	rerr := c.runRecvs(ctx, op, steps, minFrames, recvBuf, rop)
	if rerr != nil {
		rerr = causedByContext(ctx, rerr)
		c.fail(rerr)
		select {
		case c.stop <- struct{}{}:
		default:
		}
	}
	serr := <-c.sendDone
	c.job = sendJob{}
	if rerr != nil {
		return rerr
	}
	if serr != nil {
		return serr
	}
	return nil
}

func (c *Comm) runRecvs(ctx context.Context, op Op, steps []Step, minFrames int, buf []float32, rop ReduceOp) error {
	for k, st := range steps {
		var start time.Time
		if c.tracer != nil {
			start = time.Now()
		}
		if err := c.recvStep(ctx, op, st, minFrames, buf, rop, true); err != nil {
			return err
		}
		if c.tracer != nil && st.From >= 0 {
			c.tracer(op, k, start, time.Now())
		}
	}
	return nil
}

// recvStep receives (and reduces) the step's receive range segment by
// segment; with signal set it reports each finished segment to the sender
// goroutine.
func (c *Comm) recvStep(ctx context.Context, op Op, st Step, minFrames int, buf []float32, rop ReduceOp, signal bool) error {
	if st.From < 0 {
		return nil
	}
	half := c.compression(op)
	for s := range c.segCount(st.RecvHi-st.RecvLo, minFrames) {
		if err := c.recvSegment(ctx, op, half, st, s, buf, rop); err != nil {
			return err
		}
		if signal {
			c.signalProgress()
		}
	}
	return nil
}

// recvSegment receives (and reduces) segment s of the step's receive range.
func (c *Comm) recvSegment(ctx context.Context, op Op, half Compression, st Step, s int, buf []float32, rop ReduceOp) error {
	lo, hi := c.segBounds(st.RecvLo, st.RecvHi, s)
	tag := Tag{Op: op, Seq: c.mu.seq, Step: uint32(st.RecvWire), Chunk: uint32(s)}
	if !st.Reduce {
		return c.t.Recv(ctx, st.From, tag, buf[lo:hi])
	}
	if half != CompressNone { // widened and combined in one pass
		wire := c.mu.carrier[:carriers(hi-lo)]
		if err := c.t.Recv(ctx, st.From, tag, wire); err != nil {
			return err
		}
		combineHalf(half, rop, buf[lo:hi], wire)
	} else if c.reduceFrom != nil && c.reduceFrom[st.From] {
		if err := c.reducer.RecvReduce(ctx, st.From, tag, buf[lo:hi], rop); err != nil {
			return err
		}
	} else {
		tmp := c.mu.scratch[:hi-lo]
		if err := c.t.Recv(ctx, st.From, tag, tmp); err != nil {
			return err
		}
		combine(rop, buf[lo:hi], tmp)
	}
	if st.Final {
		finish(rop, buf[lo:hi], c.size)
	}
	return nil
}

func (c *Comm) signalProgress() {
	c.progress.Add(1)
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// runSequential runs steps on the calling goroutine: in each step it sends
// ahead segments (all of them with allAhead), then alternates one send and
// one receive, then receives the rest (inline.go says why this cannot
// deadlock).
func (c *Comm) runSequential(ctx context.Context, op Op, steps []Step, minFrames, ahead int, sendBuf, recvBuf []float32, rop ReduceOp) error {
	seq := c.mu.seq
	half := c.compression(op)
	if c.hinter != nil {
		c.hinter.Sequential(true)
		defer c.hinter.Sequential(false)
	}
	for k, st := range steps {
		var start time.Time
		if c.tracer != nil {
			start = time.Now()
		}
		nsend, nrecv := 0, 0
		if st.To >= 0 {
			nsend = c.segCount(st.SendHi-st.SendLo, minFrames)
		}
		if st.From >= 0 {
			nrecv = c.segCount(st.RecvHi-st.RecvLo, minFrames)
		}
		a := min(ahead, nsend) // sends before the first receive
		for i := 0; i < nsend || i-a < nrecv; i++ {
			if i < nsend {
				lo, hi := c.segBounds(st.SendLo, st.SendHi, i)
				tag := Tag{Op: op, Seq: seq, Step: uint32(st.SendWire), Chunk: uint32(i)}
				data := sendBuf[lo:hi]
				if half != CompressNone {
					data = pack(half, c.mu.packSeq, data)
				}
				if err := c.t.Send(ctx, st.To, tag, data); err != nil {
					return err
				}
			}
			if j := i - a; j >= 0 && j < nrecv {
				if err := c.recvSegment(ctx, op, half, st, j, recvBuf, rop); err != nil {
					return err
				}
			}
		}
		if c.tracer != nil && st.From >= 0 {
			c.tracer(op, k, start, time.Now())
		}
	}
	return nil
}
