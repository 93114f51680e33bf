package worker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"unsafe"

	"github.com/ringtrain/ringtrain/data"
)

// A liveArena is where a worker writes its own half of the live state when
// its ring successor runs on the same host and shares memory with it
// (cluster.shm: auto): a memory file the successor maps, so that the
// replica costs no stream at all. The successor reads a slot only when it
// recovers (liveState.materialize), after this worker may have died: the
// mapping keeps the memory alive. A slot is guarded by a sequence number,
// odd while its owner writes it (a seqlock): a copy made while the number
// changed, or of a slot its owner was killed while writing, is discarded.
//
// Layout (little endian): the arena header (magic, the random key the owner
// announced to its successor over the data plane, the slot capacity in
// float32s), then two slots, each a header (seq, lineage, world, rank, step,
// optimizer steps, cursor epoch and step, length in float32s) and the data.
type liveArena struct {
	mem      []byte
	capacity int // float32s per slot
	key      [16]byte
	fd, pid  int // the owner's descriptor (successors open /proc/pid/fd/fd)
	owner    bool
	close    func() error
}

const (
	arenaMagic      = 0x3130_4556_494c_5452 // "RTLIVE01"
	arenaHeaderLen  = 64
	arenaSlotHdrLen = 128
	arenaDescLen    = 8               // words of the descriptor sent to the successor
	arenaDescMagic  = 0x52_4c_41_31   // "RLA1"
	maxArenaFloats  = 1 << 36 / 4 / 2 // 32 GiB of slots: no shard is larger
)

var errNoArena = errors.New("shared memory is not available on this platform")

func arenaBytes(capacity int) int { return arenaHeaderLen + 2*slotStride(capacity) }

func slotStride(capacity int) int { return (arenaSlotHdrLen + 4*capacity + 63) &^ 63 }

func (a *liveArena) slotOff(i int) int { return arenaHeaderLen + i*slotStride(a.capacity) }

func (a *liveArena) seq(i int) *atomic.Uint64 {
	return (*atomic.Uint64)(unsafe.Pointer(&a.mem[a.slotOff(i)]))
}

// data is slot i's float32s (capacity of them).
func (a *liveArena) data(i int) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(&a.mem[a.slotOff(i)+arenaSlotHdrLen])), a.capacity)
}

// writeHeader lays out the arena header of a fresh arena.
func (a *liveArena) writeHeader() {
	binary.LittleEndian.PutUint64(a.mem[0:], arenaMagic)
	copy(a.mem[8:24], a.key[:])
	binary.LittleEndian.PutUint64(a.mem[24:], uint64(a.capacity))
}

// checkHeader verifies a mapped arena of size bytes against the key its
// owner announced.
func (a *liveArena) checkHeader(key [16]byte) error {
	if len(a.mem) < arenaHeaderLen || binary.LittleEndian.Uint64(a.mem[0:]) != arenaMagic {
		return errors.New("not a live-state arena")
	}
	if [16]byte(a.mem[8:24]) != key {
		return errors.New("its key is not the one the predecessor announced")
	}
	c := binary.LittleEndian.Uint64(a.mem[24:])
	if c > maxArenaFloats || arenaBytes(int(c)) > len(a.mem) {
		return fmt.Errorf("its slot capacity %d does not fit its %d bytes", c, len(a.mem))
	}
	a.capacity = int(c)
	return nil
}

// beginWrite marks slot i as being written (odd), once.
func (a *liveArena) beginWrite(i int) {
	if s := a.seq(i); s.Load()%2 == 0 {
		s.Store(s.Load() + 1)
	}
}

// endWrite publishes slot i with h: its data is complete.
func (a *liveArena) endWrite(i int, h arenaSlot) {
	putSlotHeader(a.mem[a.slotOff(i):], h)
	if s := a.seq(i); s.Load()%2 == 1 {
		s.Store(s.Load() + 1)
	}
}

// arenaSlot is a slot's header: what step of whose shard it holds.
type arenaSlot struct {
	lineage     uint64
	world, rank int
	step        int64
	optSteps    int64
	cursor      data.Cursor
	n           int // float32s of data
}

func putSlotHeader(b []byte, h arenaSlot) {
	le := binary.LittleEndian
	le.PutUint64(b[8:], h.lineage)
	le.PutUint64(b[16:], uint64(h.world))
	le.PutUint64(b[24:], uint64(h.rank))
	le.PutUint64(b[32:], uint64(h.step))
	le.PutUint64(b[40:], uint64(h.optSteps))
	le.PutUint64(b[48:], uint64(int64(h.cursor.Epoch)))
	le.PutUint64(b[56:], uint64(int64(h.cursor.Step)))
	le.PutUint64(b[64:], uint64(h.n))
}

// decodeSlotHeader reads a slot header written by another process (or
// left half-written by one that died), refusing what no owner writes.
func decodeSlotHeader(b []byte, capacity int) (arenaSlot, error) {
	if len(b) < arenaSlotHdrLen || capacity < 0 {
		return arenaSlot{}, errors.New("slot header truncated")
	}
	le := binary.LittleEndian
	h := arenaSlot{lineage: le.Uint64(b[8:]), step: int64(le.Uint64(b[32:])), optSteps: int64(le.Uint64(b[40:]))}
	world, rank, n := le.Uint64(b[16:]), le.Uint64(b[24:]), le.Uint64(b[64:])
	epoch, cstep := int64(le.Uint64(b[48:])), int64(le.Uint64(b[56:]))
	switch {
	case world < 1 || world > maxInvWorld || rank >= world:
		return arenaSlot{}, fmt.Errorf("slot names rank %d of world %d", rank, world)
	case n > uint64(capacity):
		return arenaSlot{}, fmt.Errorf("slot holds %d values, more than its capacity %d", n, capacity)
	case h.step < 0 || h.optSteps < 0 || epoch < 0 || cstep < 0 || epoch > math.MaxInt32 || cstep > math.MaxInt32:
		return arenaSlot{}, errors.New("slot has a negative or impossible step or data position")
	}
	h.world, h.rank, h.n = int(world), int(rank), int(n)
	h.cursor = data.Cursor{Epoch: int(epoch), Step: int(cstep)}
	return h, nil
}

// readSlot copies slot i of a mapped arena if it holds a complete step:
// ok is false for a slot never written, being written, or rewritten while
// it was copied.
func (a *liveArena) readSlot(i int) (h arenaSlot, vals []float32, ok bool) {
	s := a.seq(i)
	s1 := s.Load()
	if s1 == 0 || s1%2 == 1 {
		return h, nil, false
	}
	h, err := decodeSlotHeader(a.mem[a.slotOff(i):], a.capacity)
	if err != nil {
		return h, nil, false
	}
	vals = make([]float32, h.n)
	copy(vals, a.data(i)[:h.n])
	// A compare-and-swap of the unchanged value: a full barrier, so the
	// copy above is ordered before this second read of the number.
	if !s.CompareAndSwap(s1, s1) {
		return h, nil, false
	}
	return h, vals, true
}

// descriptor is what the successor needs to map the arena: the owner's pid
// and descriptor number, and the key.
func (a *liveArena) descriptor(dst []float32) {
	w := [arenaDescLen]uint32{arenaDescMagic, uint32(a.pid), uint32(a.fd)}
	for i := range 4 {
		w[3+i] = binary.LittleEndian.Uint32(a.key[4*i:])
	}
	for i, v := range w {
		dst[i] = math.Float32frombits(v)
	}
}

// decodeDescriptor reads a predecessor's descriptor; ok is false when it
// offers no arena.
func decodeDescriptor(src []float32) (pid, fd int, key [16]byte, ok bool) {
	if len(src) != arenaDescLen || math.Float32bits(src[0]) != arenaDescMagic {
		return 0, 0, key, false
	}
	for i := range 4 {
		binary.LittleEndian.PutUint32(key[4*i:], math.Float32bits(src[3+i]))
	}
	return int(math.Float32bits(src[1])), int(math.Float32bits(src[2])), key, true
}
