//go:build linux

package shm

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/ringtrain/ringtrain/allreduce"
)

// The shared all-reduce (allreduce.SharedReducer) moves no frames: every
// rank has a staging area in the segment that all ranks read, and a call
// runs in blocks of at most stageHalfBytes of the buffer. For each block,
// rank r owns chunk r (allreduce.ShardRange of the block):
//
//  1. r waits until every peer is done with the half of r's staging area
//     that this block uses (the block two before used it), then copies the
//     chunks the peers own into it and publishes staged = the block's
//     epoch;
//  2. r combines into its own chunk, in its buffer, each peer's staged copy
//     of that chunk, in rank order, then copies the result into its staging
//     area and publishes reduced;
//  3. r copies every peer's reduced chunk out of the peer's staging area
//     into its buffer and publishes done.
//
// Each rank writes its buffer's length into shared memory once ((N-1)/N
// staged, 1/N reduced) and reads 2(N-1)/N of it out, where the rings'
// schedules (ring, direct, halving) write 2(N-1)/N into rings and read as
// much out; and a block has three points where a rank waits for its peers,
// where the pipelined schedules wait per segment and step and hand each
// send to the Comm's goroutine. Each result is computed by one rank and
// copied by the others, so every rank ends with the same bits. The epochs
// count blocks on this transport; every rank runs the same calls, so they
// agree, and every publication also carries the call's length, operator and
// sequence number, which the readers check (allreduce.ErrProtocol on a
// mismatch).

// Staging area layout: stageCtlBytes of control, then two halves.
const (
	stageCtlBytes = 4096
	// stageMaxHalfBytes caps a half: blocks of 2 MiB of the buffer.
	stageMaxHalfBytes = 2 << 20

	stagedOff  = 0   // u64: the last epoch whose peers' chunks are staged
	reducedOff = 64  // u64: the last epoch whose own chunk is reduced
	doneOff    = 128 // u64: the last epoch whose peers' chunks were copied out
	stageEvOff = 192 // event: seq u32, waiting u32
	descOff    = 256 // per half, 64 bytes apart: length u64, op<<32|seq u64
)

// stageHalfBytes is the size of one half of a staging area: the ring
// size, at most stageMaxHalfBytes.
func stageHalfBytes(ringBytes int) int { return min(ringBytes, stageMaxHalfBytes) }

func stageStride(ringBytes int) int64 {
	return stageCtlBytes + 2*int64(stageHalfBytes(ringBytes))
}

func stageOffset(size, ringBytes, rank int) int64 {
	return stagesOffset(size, ringBytes) + int64(rank)*stageStride(ringBytes)
}

// stage is one rank's staging area.
type stage struct {
	staged, reduced, done *atomic.Uint64
	ev                    event // signalled after each publication
	descLen, descOp       [2]*atomic.Uint64
	half                  [2][]float32
}

func newStage(mem []byte, off int64, halfBytes int) *stage {
	s := &stage{
		staged:  u64At(mem, off+stagedOff),
		reduced: u64At(mem, off+reducedOff),
		done:    u64At(mem, off+doneOff),
		ev:      event{seq: u32At(mem, off+stageEvOff), waiting: u32At(mem, off+stageEvOff+4)},
	}
	for h := range 2 {
		s.descLen[h] = u64At(mem, off+descOff+int64(h)*64)
		s.descOp[h] = u64At(mem, off+descOff+int64(h)*64+8)
		start := off + stageCtlBytes + int64(h*halfBytes)
		s.half[h] = floatsAt(mem, int(start), halfBytes/4)
	}
	return s
}

// SharedAllReduces implements allreduce.SharedReducer: every rank of the
// generation is in the segment.
func (t *Transport) SharedAllReduces() bool { return t.spec.Size > 1 }

// SharedAllReduce implements allreduce.SharedReducer: buf is combined with
// op across the ranks through the staging areas (see above); every rank
// must make the same call (tag, length, op). Mean is combined as Sum: the
// caller divides. A failed wait aborts the transport, as a failed Recv does.
func (t *Transport) SharedAllReduce(ctx context.Context, tag allreduce.Tag, buf []float32, op allreduce.ReduceOp) error {
	if err := t.beginCall(); err != nil {
		return err
	}
	defer t.mu.RUnlock()
	size := t.spec.Size
	if size == 1 || len(buf) == 0 {
		return nil
	}
	me := t.stages[t.rank]
	blk := len(me.half[0])
	opSeq := uint64(op)<<32 | uint64(tag.Seq)
	bulk := t.bulk.Load()
	for off := 0; off < len(buf); off += blk {
		b := buf[off:min(off+blk, len(buf))]
		t.epoch++
		e, h := t.epoch, int(t.epoch&1)
		mine := me.half[h]
		if e > 2 {
			for k := range size {
				if k != t.rank {
					if err := t.stageWait(ctx, k, "shared all-reduce (staging)", func() bool { return t.stages[k].done.Load() >= e-2 }); err != nil {
						return err
					}
				}
			}
		}
		for k := range size {
			if k != t.rank {
				lo, hi := allreduce.ShardRange(len(b), size, k)
				copyTo(floatBytes(mine[lo:hi]), floatBytes(b[lo:hi]))
			}
		}
		me.descLen[h].Store(uint64(len(buf)))
		me.descOp[h].Store(opSeq)
		t.publish(me, me.staged, e)

		lo, hi := allreduce.ShardRange(len(b), size, t.rank)
		for k := range size {
			if k == t.rank {
				continue
			}
			peer := t.stages[k]
			if err := t.stageWait(ctx, k, "shared all-reduce (reduce)", func() bool { return peer.staged.Load() >= e }); err != nil {
				return err
			}
			if n, ps := peer.descLen[h].Load(), peer.descOp[h].Load(); n != uint64(len(buf)) || ps != opSeq {
				t.Abort()
				return fmt.Errorf("shm: shared all-reduce %d<-%d: the peer's call is %d values, %v, call %d; this rank's %d values, %v, call %d: %w",
					t.rank, k, n, allreduce.ReduceOp(ps>>32), uint32(ps), len(buf), op, tag.Seq, allreduce.ErrProtocol)
			}
			allreduce.Combine(op, b[lo:hi], peer.half[h][lo:hi])
		}
		copyTo(floatBytes(mine[lo:hi]), floatBytes(b[lo:hi]))
		t.publish(me, me.reduced, e)

		for k := range size {
			if k == t.rank {
				continue
			}
			peer := t.stages[k]
			if err := t.stageWait(ctx, k, "shared all-reduce (gather)", func() bool { return peer.reduced.Load() >= e }); err != nil {
				return err
			}
			klo, khi := allreduce.ShardRange(len(b), size, k)
			if bulk {
				copyTo(floatBytes(b[klo:khi]), floatBytes(peer.half[h][klo:khi]))
			} else {
				copy(b[klo:khi], peer.half[h][klo:khi])
			}
		}
		t.publish(me, me.done, e)
	}
	return nil
}

// publish stores epoch e into c, a counter of this rank's stage s, and
// wakes a peer that sleeps on it.
func (t *Transport) publish(s *stage, c *atomic.Uint64, e uint64) {
	t.race.release()
	c.Store(e)
	s.ev.signal()
}

// stageWait waits until cond, a condition on peer k's stage, holds; it
// aborts the transport when it never will.
func (t *Transport) stageWait(ctx context.Context, k int, what string, cond func() bool) error {
	w := waiter{t: t, peer: k, ctx: ctx, what: what}
	if err := w.until(t.stages[k].ev, cond); err != nil {
		return t.fail(err)
	}
	t.race.acquire()
	return nil
}
