//go:build linux

package worker

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/internal/testutil"
	"golang.org/x/sys/unix"
)

// attachOwn maps a through /proc, as its successor does.
func attachOwn(t *testing.T, a *liveArena) *liveArena {
	t.Helper()
	desc := make([]float32, arenaDescLen)
	a.descriptor(desc)
	pid, fd, key, ok := decodeDescriptor(desc)
	if !ok {
		t.Fatal("descriptor not recognised")
	}
	m, err := attachArena(pid, fd, key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.close() })
	return m
}

// A slot is readable from a mapping only while its owner is not writing
// it, and then holds exactly what the owner published.
func TestArenaSlotSeqlock(t *testing.T) {
	a, err := createArena(10)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	m := attachOwn(t, a)
	if _, _, ok := m.readSlot(0); ok {
		t.Fatal("a slot never written reads as complete")
	}
	h := arenaSlot{lineage: 1 << 40, world: 3, rank: 2, step: 77, optSteps: 70, cursor: data.Cursor{Epoch: 2, Step: 5}, n: 6}
	a.beginWrite(0)
	want := []float32{1, -2, 3.5, 0, 1e-30, 7}
	copy(a.data(0), want)
	if _, _, ok := m.readSlot(0); ok {
		t.Fatal("a slot being written reads as complete")
	}
	a.endWrite(0, h)
	got, vals, ok := m.readSlot(0)
	if !ok || got != h || !testutil.BitsEqual(vals, want) {
		t.Fatalf("read %+v %v ok %v, want %+v %v", got, vals, ok, h, want)
	}
	if _, _, ok := m.readSlot(1); ok {
		t.Fatal("the other slot reads as complete")
	}
	a.beginWrite(0)
	a.beginWrite(0) // a claim that never completed, then another: still odd
	if _, _, ok := m.readSlot(0); ok {
		t.Fatal("a slot rewritten reads as complete")
	}
	a.endWrite(0, h)
	if _, _, ok := m.readSlot(0); !ok {
		t.Fatal("a slot published again does not read")
	}
}

// A mapping is refused unless it is the arena its owner announced.
func TestAttachArenaRefuses(t *testing.T) {
	a, err := createArena(4)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	desc := make([]float32, arenaDescLen)
	a.descriptor(desc)
	pid, fd, key, _ := decodeDescriptor(desc)
	key[0] ^= 1
	if _, err := attachArena(pid, fd, key); err == nil || !strings.Contains(err.Error(), "key") {
		t.Fatalf("wrong key: %v", err)
	}
	if _, err := attachArena(pid, 1<<20, key); err == nil || !strings.Contains(err.Error(), "open") {
		t.Fatalf("no such descriptor: %v", err)
	}
	if err := unix.Ftruncate(a.fd, 0); err == nil {
		t.Fatal("the arena can be cut short under its successors")
	}
	if _, _, _, ok := decodeDescriptor(make([]float32, arenaDescLen)); ok {
		t.Fatal("an empty descriptor offers an arena")
	}
}

// A larger shard replaces the arena; a slot still in the old one keeps its
// values on the heap.
func TestArenaGrowsKeepingTheOtherSlot(t *testing.T) {
	l := newLiveState()
	defer l.close()
	if err := l.ensureArena(2 * 5); err != nil {
		t.Fatal(err)
	}
	s := l.claim(1, 2, 0, 10, 1, 3, 3, data.Cursor{}, false)
	for i := range s.own {
		s.own[i] = float32(i + 1)
	}
	l.ownDone(s)
	if !s.shared {
		t.Fatal("own half not in the arena")
	}
	want := append([]float32(nil), s.own...)
	if err := l.ensureArena(2 * 50); err != nil {
		t.Fatal(err)
	}
	if s.shared || !testutil.BitsEqual(s.own, want) {
		t.Fatalf("after growing: shared %v own %v, want %v on the heap", s.shared, s.own, want)
	}
	s2 := l.claim(1, 1, 0, 50, 1, 4, 4, data.Cursor{}, false)
	if !s2.shared || len(s2.own) != 100 {
		t.Fatalf("new slot: shared %v, %d values", s2.shared, len(s2.own))
	}
}

// Slot headers come from another process's memory: nothing in them panics,
// and what is accepted is in range.
func FuzzDecodeSlotHeader(f *testing.F) {
	b := make([]byte, arenaSlotHdrLen)
	putSlotHeader(b, arenaSlot{lineage: 5, world: 4, rank: 3, step: 9, optSteps: 9, cursor: data.Cursor{Epoch: 1, Step: 2}, n: 8})
	f.Add(b, 8)
	f.Add(make([]byte, 10), 0)
	f.Fuzz(func(t *testing.T, b []byte, capacity int) {
		h, err := decodeSlotHeader(b, capacity)
		if err != nil {
			return
		}
		if h.world < 1 || h.world > maxInvWorld || h.rank < 0 || h.rank >= h.world || h.n < 0 || h.n > capacity || h.step < 0 {
			t.Fatalf("accepted %+v (capacity %d)", h, capacity)
		}
		if binary.LittleEndian.Uint64(b[64:]) != uint64(h.n) {
			t.Fatal("length misread")
		}
	})
}

// A rank that believes it shares memory with its predecessor, whose
// predecessor offered no arena, says why and receives a stream instead;
// the state survives either way.
func TestUnsharedPredecessorIsStreamed(t *testing.T) {
	spec := testSpec("adamw")
	lives := make([]*liveState, 2)
	var ref []float32
	group(t, spec, 2, func(r int, tr *Trainer) error {
		lives[r] = newLiveState()
		tr.SetLive(lives[r], 7)
		tr.sharedPeer = func(int) bool { return r == 0 } // rank 1 thinks otherwise
		if err := tr.replicateNow(t.Context()); err != nil {
			return err
		}
		if tr.share.pred || tr.share.succ || tr.share.all {
			return fmt.Errorf("rank %d: sharing %+v, want streams both ways", r, tr.share)
		}
		if r == 0 && !strings.Contains(tr.share.why, "offered no arena") {
			return fmt.Errorf("rank 0: why %q", tr.share.why)
		}
		if err := steps(3)(t.Context(), tr); err != nil {
			return err
		}
		if r == 1 {
			ref = slices.Clone(tr.Params())
		}
		return nil
	})
	defer lives[0].close()
	lives[1].close() // rank 1 is lost; rank 0 received its state as a stream
	group(t, spec, 1, func(r int, tr *Trainer) error {
		from, ok, err := recoverLive(t.Context(), tr.comm, tr, lives[0], 0)
		if err != nil || !ok || from.source != "replicas" {
			return fmt.Errorf("recovered %+v ok %v: %v", from, ok, err)
		}
		if !testutil.BitsEqual(tr.Params(), ref) {
			return fmt.Errorf("parameters differ")
		}
		return nil
	})
}
