//go:build linux

package shm

import (
	"sync/atomic"
	"unsafe"

	"github.com/ringtrain/ringtrain/allreduce"
)

// ring is one single-producer/single-consumer byte ring in the segment.
// head counts bytes ever written (stored by the producer after the bytes),
// tail bytes ever consumed (stored by the consumer after reading them);
// both only grow, so head-tail is the fill and never exceeds len(data).
// Frames start on frameAlign boundaries so a header never wraps.
type ring struct {
	head *atomic.Uint64
	tail *atomic.Uint64
	data []byte
	mask uint64
	// data: the consumer sleeps on it when the ring is empty; space: the
	// producer when it is full.
	dataEv, spaceEv event
}

// pieceBytes bounds what one step of Send or Recv moves before it publishes
// its position: a receiver starts on a frame's first piece while the sender
// writes the next (docs/benchmarks.md, "Runs H and I").
// ntMinBytes: copies into the ring from this size on use non-temporal
// stores where the CPU has them (copyTo).
const (
	pieceBytes = 512 << 10
	ntMinBytes = 64 << 10
)

// frameHeaderBytes is a frame's header: generation u64, op u32, seq u32,
// step u32, chunk u32, float count u64.
const (
	frameHeaderBytes = 32
	frameAlign       = 32
)

func newRing(mem []byte, off int64, ringBytes int) *ring {
	return &ring{
		head:    u64At(mem, off),
		tail:    u64At(mem, off+64),
		data:    mem[off+ringCtlBytes : off+ringCtlBytes+int64(ringBytes) : off+ringCtlBytes+int64(ringBytes)],
		mask:    uint64(ringBytes - 1),
		dataEv:  event{seq: u32At(mem, off+128), waiting: u32At(mem, off+132)},
		spaceEv: event{seq: u32At(mem, off+192), waiting: u32At(mem, off+196)},
	}
}

// put copies p into the ring at position pos (no wrap checks beyond the
// ring's size: the caller made room).
func (r *ring) put(pos uint64, p []byte) {
	i := pos & r.mask
	n := min(len(p), len(r.data)-int(i))
	copyTo(r.data[i:], p[:n])
	copyTo(r.data, p[n:])
}

// get copies from the ring at position pos into p; with bulk set, as copyTo
// does (a large collective's destination is not read again soon, and
// non-temporal stores spare it the read for ownership).
func (r *ring) get(pos uint64, p []byte, bulk bool) {
	i := pos & r.mask
	if !bulk {
		n := copy(p, r.data[i:])
		copy(p[n:], r.data)
		return
	}
	n := min(len(p), len(r.data)-int(i))
	copyTo(p[:n], r.data[i:i+uint64(n)])
	copyTo(p[n:], r.data[:len(p)-n])
}

// combine sets dst = dst ⊕ the len(dst) values in the ring at position pos
// (a multiple of 4, as every position is), in at most two runs around the
// ring's end.
func (r *ring) combine(op allreduce.ReduceOp, pos uint64, dst []float32) {
	i := pos & r.mask
	n := min(len(dst), (len(r.data)-int(i))/4)
	allreduce.Combine(op, dst[:n], floatsAt(r.data, int(i), n))
	if n < len(dst) {
		allreduce.Combine(op, dst[n:], floatsAt(r.data, 0, len(dst)-n))
	}
}

// floatsAt views n float32 values of b from byte offset off (4-aligned: the
// ring starts on a page).
func floatsAt(b []byte, off, n int) []float32 {
	if n == 0 {
		return nil
	}
	_ = b[off+4*n-1]
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[off])), n)
}

func alignUp(n uint64) uint64 { return (n + frameAlign - 1) &^ (frameAlign - 1) }
