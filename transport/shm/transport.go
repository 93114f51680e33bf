//go:build linux

package shm

import (
	"context"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ringtrain/ringtrain/allreduce"
)

// Config tunes a Transport.
type Config struct {
	// IOTimeout fails a call that sees no progress from its peer for this
	// long with allreduce.ErrTimeout; 0 waits for ever (a dead or aborted
	// peer is still noticed).
	IOTimeout time.Duration
	Logger    *slog.Logger // nil = slog.Default()
	// Key must equal the segment's Spec.Key, or Attach fails with
	// ErrWrongKey.
	Key [16]byte
}

// Transport is one rank's allreduce.Transport over a shared segment.
type Transport struct {
	cfg  Config
	mem  []byte
	spec Spec
	rank int
	send []*ring // send[p]: this rank → p
	recv []*ring // recv[p]: p → this rank
	// sendPos/recvPos: the producer's and consumer's own positions (only
	// the one goroutine in flight per direction touches each).
	sendPos []uint64
	recvPos []uint64
	peers   []*peerWatch
	// stages[r]: rank r's staging area (stage.go); epoch: the last block
	// of a shared all-reduce this rank ran (one call at a time).
	stages []*stage
	epoch  uint64

	aborted   chan struct{}
	abortOnce sync.Once

	race raceSync

	// sequential: allreduce.SequentialHinter's state; bulk:
	// allreduce.BulkHinter's.
	sequential atomic.Bool
	bulk       atomic.Bool
	touched    byte // populate's reads land here, so they are kept

	mu     sync.RWMutex // read-held by every call; Close write-locks it to unmap
	closed bool
}

var (
	_ allreduce.Transport        = (*Transport)(nil)
	_ allreduce.SendBufferer     = (*Transport)(nil)
	_ allreduce.RecvReducer      = (*Transport)(nil)
	_ allreduce.SequentialHinter = (*Transport)(nil)
	_ allreduce.SegmentAdvisor   = (*Transport)(nil)
	_ allreduce.HalvingAdvisor   = (*Transport)(nil)
	_ allreduce.BulkHinter       = (*Transport)(nil)
	_ allreduce.SharedReducer    = (*Transport)(nil)
)

// Attach maps the segment f as rank of generation gen. It fails when the
// segment belongs to another generation (ErrStaleGeneration), is not a
// valid segment, or rank's slot was already taken. f may be closed after
// Attach returns.
func Attach(f *os.File, gen uint64, rank int, cfg Config) (*Transport, error) {
	mem, spec, err := mapSegment(f, gen)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(spec.Key[:], cfg.Key[:]) != 1 {
		_ = unix.Munmap(mem)
		return nil, fmt.Errorf("shm: generation %d rank %d: %w", gen, rank, ErrWrongKey)
	}
	if rank < 0 || rank >= spec.Size {
		_ = unix.Munmap(mem)
		return nil, fmt.Errorf("shm: rank %d outside world of %d", rank, spec.Size)
	}
	if !slotState(mem, rank).CompareAndSwap(slotFree, slotAttached) {
		_ = unix.Munmap(mem)
		return nil, fmt.Errorf("shm: generation %d rank %d: slot already taken", gen, rank)
	}
	slotPid(mem, rank).Store(uint32(os.Getpid()))
	rs, err := newRaceSync()
	if err != nil {
		slotState(mem, rank).Store(slotGone)
		_ = unix.Munmap(mem)
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	t := &Transport{
		cfg: cfg, mem: mem, spec: spec, rank: rank,
		send: make([]*ring, spec.Size), recv: make([]*ring, spec.Size),
		sendPos: make([]uint64, spec.Size), recvPos: make([]uint64, spec.Size),
		peers:   make([]*peerWatch, spec.Size),
		stages:  make([]*stage, spec.Size),
		aborted: make(chan struct{}),
		race:    rs,
	}
	for p := range spec.Size {
		t.stages[p] = newStage(mem, stageOffset(spec.Size, spec.RingBytes, p), stageHalfBytes(spec.RingBytes))
		if p == rank {
			continue
		}
		t.send[p] = newRing(mem, ringOffset(spec.Size, spec.RingBytes, rank, p), spec.RingBytes)
		t.recv[p] = newRing(mem, ringOffset(spec.Size, spec.RingBytes, p, rank), spec.RingBytes)
		t.peers[p] = &peerWatch{mem: mem, rank: p}
	}
	t.populate()
	return t, nil
}

// populate readies this rank's rings (both directions, with every peer)
// now rather than on their first use: it faults their pages in
// (MADV_POPULATE_WRITE; kernels before 5.14 lack it and skip this) and
// then reads every cache line once. Measured on this repository's VM
// (docs/benchmarks.md, "Runs H and I"): without both, 4 KiB all-reduces
// ran at 14–90 µs instead of 1–5 µs until each ring had wrapped once
// (about 500 calls). Reading is safe while peers already write: nothing is
// stored. Only the first populateMaxBytes of each ring are readied (all of
// a default 2 MiB ring): frames that reach further are large enough to
// carry a first touch, and a world of large rings is not committed at once.
func (t *Transport) populate() {
	var sum byte
	for p := range t.spec.Size {
		if p == t.rank {
			continue
		}
		for _, pair := range [2][2]int{{t.rank, p}, {p, t.rank}} {
			off := ringOffset(t.spec.Size, t.spec.RingBytes, pair[0], pair[1])
			ring := t.mem[off : off+min(ringStride(t.spec.RingBytes), populateMaxBytes)]
			if err := unix.Madvise(ring, unix.MADV_POPULATE_WRITE); err != nil {
				t.cfg.Logger.Debug("shm: rings fault in on first use", "rank", t.rank, "err", err)
			}
			for i := 0; i < len(ring); i += 64 {
				sum += ring[i]
			}
		}
	}
	// This rank's staging area: only it writes there.
	off := stageOffset(t.spec.Size, t.spec.RingBytes, t.rank)
	area := t.mem[off : off+stageStride(t.spec.RingBytes)]
	if err := unix.Madvise(area, unix.MADV_POPULATE_WRITE); err != nil {
		t.cfg.Logger.Debug("shm: staging area faults in on first use", "rank", t.rank, "err", err)
	}
	for i := 0; i < len(area); i += 64 {
		sum += area[i]
	}
	t.touched = sum
}

// populateMaxBytes bounds what populate readies of one ring (control block
// and data).
const populateMaxBytes = 4 << 20

// SendBuffer implements allreduce.SendBufferer: a Send returns once its
// frame is in the ring, so a link holds RingBytes of frames the peer has not
// read (headers and padding included).
func (t *Transport) SendBuffer() int { return t.spec.RingBytes }

// Rank is this transport's rank.
func (t *Transport) Rank() int { return t.rank }

// Size is the world size.
func (t *Transport) Size() int { return t.spec.Size }

// Generation is the segment's generation.
func (t *Transport) Generation() uint64 { return t.spec.Generation }

// Abort fails every in-flight and later call with allreduce.ErrAborted and
// marks this rank gone in the segment, so that peers waiting on it fail
// with allreduce.ErrPeerLost.
func (t *Transport) Abort() {
	t.abortOnce.Do(func() {
		close(t.aborted)
		slotState(t.mem, t.rank).Store(slotGone)
		// Wake every sleeper on this rank's rings, here and in the peers.
		for p := range t.spec.Size {
			if p != t.rank {
				for _, r := range []*ring{t.send[p], t.recv[p]} {
					r.dataEv.wake()
					r.spaceEv.wake()
				}
			}
			t.stages[p].ev.wake()
		}
	})
}

// Close aborts, waits for in-flight calls to return and unmaps the segment.
func (t *Transport) Close() error {
	t.Abort()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil
	}
	t.closed = true
	for _, p := range t.peers {
		if p != nil {
			p.close()
		}
	}
	t.race.close()
	if err := unix.Munmap(t.mem); err != nil {
		return fmt.Errorf("shm: rank %d: unmap: %w", t.rank, err)
	}
	return nil
}

func (t *Transport) begin(peer int) error {
	if peer < 0 || peer >= t.spec.Size || peer == t.rank {
		return fmt.Errorf("shm: rank %d: invalid peer %d: %w", t.rank, peer, allreduce.ErrProtocol)
	}
	return t.beginCall()
}

// beginCall read-locks the transport for a call, unless it is closed or
// aborted.
func (t *Transport) beginCall() error {
	t.mu.RLock()
	if t.closed {
		t.mu.RUnlock()
		return fmt.Errorf("shm: rank %d: %w", t.rank, allreduce.ErrClosed)
	}
	select {
	case <-t.aborted:
		t.mu.RUnlock()
		return fmt.Errorf("shm: rank %d: %w", t.rank, allreduce.ErrAborted)
	default:
	}
	return nil
}

func floatBytes(data []float32) []byte {
	if len(data) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&data[0])), 4*len(data))
}

// Send copies the frame (header, payload) into the ring to peer to,
// publishing the payload piece by piece as room frees up.
func (t *Transport) Send(ctx context.Context, to int, tag allreduce.Tag, data []float32) error {
	if err := t.begin(to); err != nil {
		return err
	}
	defer t.mu.RUnlock()
	r := t.send[to]
	pos := t.sendPos[to]
	var hdr [frameHeaderBytes]byte
	binary.LittleEndian.PutUint64(hdr[0:], t.spec.Generation)
	binary.LittleEndian.PutUint32(hdr[8:], uint32(tag.Op))
	binary.LittleEndian.PutUint32(hdr[12:], tag.Seq)
	binary.LittleEndian.PutUint32(hdr[16:], tag.Step)
	binary.LittleEndian.PutUint32(hdr[20:], tag.Chunk)
	binary.LittleEndian.PutUint64(hdr[24:], uint64(len(data)))
	size := uint64(len(r.data))
	w := waiter{t: t, peer: to, ctx: ctx, what: "send", bytes: 4 * len(data)}
	// Header: frames are aligned, so it never wraps.
	if err := w.until(r.spaceEv, func() bool { return size-(pos-r.tail.Load()) >= frameHeaderBytes }); err != nil {
		return t.fail(err)
	}
	r.put(pos, hdr[:])
	pos += frameHeaderBytes
	// The header is published with the first piece of payload: a waiting
	// receiver wakes once per frame that fits, not once for the header and
	// again for the payload.
	p := floatBytes(data)
	end := alignUp(pos + uint64(len(p)))
	if pos == end {
		t.race.release()
		r.head.Store(pos)
		r.dataEv.signal()
	}
	for pos < end {
		var free uint64
		if err := w.until(r.spaceEv, func() bool { free = size - (pos - r.tail.Load()); return free > 0 }); err != nil {
			return t.fail(err)
		}
		n := min(free, end-pos, pieceBytes)
		if len(p) > 0 {
			k := min(n, uint64(len(p)))
			r.put(pos, p[:k])
			p = p[k:]
		}
		pos += n
		t.race.release()
		r.head.Store(pos)
		r.dataEv.signal()
	}
	t.sendPos[to] = pos
	return nil
}

// Recv reads the next frame from peer from straight into buf.
func (t *Transport) Recv(ctx context.Context, from int, tag allreduce.Tag, buf []float32) error {
	return t.recv1(ctx, from, tag, buf, false, 0)
}

// RecvReduces implements allreduce.RecvReducer: every peer's frames can be
// combined straight from the ring.
func (t *Transport) RecvReduces(from int) bool { return true }

// RecvReduce implements allreduce.RecvReducer: Recv, but each piece of the
// frame is combined into dst (allreduce.Combine) straight from the ring,
// without a copy into a scratch slice first.
func (t *Transport) RecvReduce(ctx context.Context, from int, tag allreduce.Tag, dst []float32, op allreduce.ReduceOp) error {
	return t.recv1(ctx, from, tag, dst, true, op)
}

// SegmentAdviceBytes is the pipeline segment size a shared-memory generation
// moves best at (docs/benchmarks.md, "Runs H and I": world
// 4 16 MiB 11.8 → 9.8 ms and 64 MiB 42 → 33 ms against 1 MiB segments).
const SegmentAdviceBytes = 256 << 10

// SegmentAdvice implements allreduce.SegmentAdvisor: every peer is in the
// segment, so every rank gives the same advice.
func (t *Transport) SegmentAdvice() int { return SegmentAdviceBytes }

// HalvingAdviceBytes: on 4 ranks, all-reduces above this size run the
// direct algorithm rather than recursive halving (docs/benchmarks.md, "Runs
// J, K and L": at 1 MiB direct took 0.64–0.82 ms and halving 0.78–1.12 ms
// in five interleaved runs, four of them won by direct; 512 KiB was within
// noise; at 256 KiB halving was faster, 0.17 vs 0.25 ms).
const HalvingAdviceBytes = 256 << 10

// HalvingAdvice implements allreduce.HalvingAdvisor: every peer is in the
// segment, so every rank gives the same advice.
func (t *Transport) HalvingAdvice() int { return HalvingAdviceBytes }

// Sequential implements allreduce.SequentialHinter: while on, receive waits
// yield the CPU before they sleep whatever their frame's size (wait.go).
func (t *Transport) Sequential(on bool) { t.sequential.Store(on) }

// Bulk implements allreduce.BulkHinter: while on, frames are copied out of
// the ring with non-temporal stores (ring.get).
func (t *Transport) Bulk(on bool) { t.bulk.Store(on) }

// recv1 reads the next frame from peer from into buf: copied, or combined
// into it with op when reduce is set.
func (t *Transport) recv1(ctx context.Context, from int, tag allreduce.Tag, buf []float32, reduce bool, op allreduce.ReduceOp) error {
	if err := t.begin(from); err != nil {
		return err
	}
	defer t.mu.RUnlock()
	r := t.recv[from]
	pos := t.recvPos[from]
	w := waiter{t: t, peer: from, ctx: ctx, what: "recv", bytes: 4 * len(buf)}
	if err := w.until(r.dataEv, func() bool { return r.head.Load()-pos >= frameHeaderBytes }); err != nil {
		return t.fail(err)
	}
	t.race.acquire()
	var hdr [frameHeaderBytes]byte
	r.get(pos, hdr[:], false)
	gen := binary.LittleEndian.Uint64(hdr[0:])
	got := allreduce.Tag{
		Op:    allreduce.Op(binary.LittleEndian.Uint32(hdr[8:])),
		Seq:   binary.LittleEndian.Uint32(hdr[12:]),
		Step:  binary.LittleEndian.Uint32(hdr[16:]),
		Chunk: binary.LittleEndian.Uint32(hdr[20:]),
	}
	n := binary.LittleEndian.Uint64(hdr[24:])
	switch {
	case gen != t.spec.Generation:
		// The ring is out of step; nothing after this frame can be trusted.
		t.Abort()
		return fmt.Errorf("shm: recv %d<-%d: frame of generation %d, want %d: %w: %w", t.rank, from, gen, t.spec.Generation, ErrStaleGeneration, allreduce.ErrProtocol)
	case got != tag:
		t.Abort()
		return fmt.Errorf("shm: recv %d<-%d: got tag %v/%d/%d/%d, want %v/%d/%d/%d: %w", t.rank, from,
			got.Op, got.Seq, got.Step, got.Chunk, tag.Op, tag.Seq, tag.Step, tag.Chunk, allreduce.ErrProtocol)
	case n != uint64(len(buf)):
		t.Abort()
		return fmt.Errorf("shm: recv %d<-%d: %v frame of %d values, want %d: %w", t.rank, from, tag.Op, n, len(buf), allreduce.ErrProtocol)
	}
	pos += frameHeaderBytes
	r.tail.Store(pos)
	r.spaceEv.signal()
	p := floatBytes(buf)
	end := alignUp(pos + uint64(len(p)))
	for pos < end {
		var avail uint64
		if err := w.until(r.dataEv, func() bool { avail = r.head.Load() - pos; return avail > 0 }); err != nil {
			return t.fail(err)
		}
		t.race.acquire()
		k := min(avail, end-pos, pieceBytes)
		if len(p) > 0 {
			c := min(k, uint64(len(p)))
			if reduce {
				// Whole values: every position and count is a multiple of 4.
				d := buf[len(buf)-len(p)/4:]
				r.combine(op, pos, d[:c/4])
			} else {
				r.get(pos, p[:c], t.bulk.Load())
			}
			p = p[c:]
		}
		pos += k
		r.tail.Store(pos)
		r.spaceEv.signal()
	}
	t.recvPos[from] = pos
	return nil
}

// fail aborts after a failed wait: a half-moved frame cannot be resumed,
// so the ring is out of step (as a TCP transport closes its connections).
func (t *Transport) fail(err error) error {
	t.Abort()
	return err
}
