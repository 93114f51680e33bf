//go:build linux

package shm

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/allreduce"
)

// attachAll creates a segment of size ranks and attaches every rank.
func attachAll(t *testing.T, spec Spec, cfg Config) []*Transport {
	t.Helper()
	seg, err := Create(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Close()
	ts := make([]*Transport, spec.Size)
	for r := range ts {
		tr, err := Attach(seg.File(), spec.Generation, r, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tr.Close() })
		ts[r] = tr
	}
	return ts
}

func tag(seq int) allreduce.Tag {
	return allreduce.Tag{Op: allreduce.OpAllGather, Seq: uint32(seq), Step: 2, Chunk: 3}
}

// Frames of every awkward length (empty, odd, exactly and far beyond the
// ring) arrive bit for bit and in order; the reference is the sent data.
func TestFramesRoundTripInOrder(t *testing.T) {
	ts := attachAll(t, Spec{Generation: 9, Size: 3, RingBytes: MinRingBytes}, Config{IOTimeout: 10 * time.Second})
	ring := MinRingBytes / 4
	lengths := []int{0, 1, 7, 8, ring/2 - 8, ring - 8, ring, ring + 1, 3*ring + 5, 0, 2}
	rng := rand.New(rand.NewPCG(1, 2))
	sent := make([][]float32, len(lengths))
	for i, n := range lengths {
		sent[i] = make([]float32, n)
		for j := range sent[i] {
			sent[i][j] = rng.Float32()
		}
	}
	ctx := context.Background()
	errc := make(chan error, 1)
	go func() {
		for i, d := range sent {
			if err := ts[2].Send(ctx, 0, tag(i), d); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	for i, d := range sent {
		got := make([]float32, len(d))
		if err := ts[0].Recv(ctx, 2, tag(i), got); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		for j := range d {
			if got[j] != d[j] {
				t.Fatalf("frame %d [%d] = %v, want %v", i, j, got[j], d[j])
			}
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestWrongTagOrLengthIsProtocolError(t *testing.T) {
	for _, c := range []struct {
		name string
		tag  allreduce.Tag
		n    int
		want string
	}{
		{"tag", tag(2), 4, "got tag"},
		{"length", tag(1), 5, "frame of 4 values, want 5"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts := attachAll(t, Spec{Generation: 1, Size: 2}, Config{})
			ctx := context.Background()
			if err := ts[0].Send(ctx, 1, tag(1), make([]float32, 4)); err != nil {
				t.Fatal(err)
			}
			err := ts[1].Recv(ctx, 0, c.tag, make([]float32, c.n))
			if !errors.Is(err, allreduce.ErrProtocol) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want ErrProtocol %q, got %v", c.want, err)
			}
			// The ring is out of step: the transport stays aborted.
			if err := ts[1].Recv(ctx, 0, tag(1), make([]float32, 4)); !errors.Is(err, allreduce.ErrAborted) {
				t.Fatalf("after a protocol error: %v", err)
			}
		})
	}
}

func TestInvalidPeerIsProtocolError(t *testing.T) {
	ts := attachAll(t, Spec{Generation: 1, Size: 2}, Config{})
	for _, p := range []int{-1, 0, 2} {
		if err := ts[0].Send(context.Background(), p, tag(1), nil); !errors.Is(err, allreduce.ErrProtocol) {
			t.Errorf("peer %d: %v", p, err)
		}
	}
}

// A segment of another generation is refused at Attach, and a frame of
// another generation in the ring at Recv.
func TestStaleGenerationRefused(t *testing.T) {
	seg, err := Create(Spec{Generation: 5, Size: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Close()
	for _, gen := range []uint64{4, 6} {
		if _, err := Attach(seg.File(), gen, 0, Config{}); !errors.Is(err, ErrStaleGeneration) {
			t.Fatalf("attach as generation %d: %v", gen, err)
		}
	}
	ts := attachAll(t, Spec{Generation: 5, Size: 2}, Config{})
	// Forge a frame of generation 4 in the ring 0 → 1, as a leftover
	// writer of an older generation would.
	var hdr [frameHeaderBytes]byte
	binary.LittleEndian.PutUint64(hdr[0:], 4)
	binary.LittleEndian.PutUint32(hdr[8:], uint32(tag(1).Op))
	binary.LittleEndian.PutUint32(hdr[12:], tag(1).Seq)
	binary.LittleEndian.PutUint32(hdr[16:], tag(1).Step)
	binary.LittleEndian.PutUint32(hdr[20:], tag(1).Chunk)
	r := ts[0].send[1]
	r.put(0, hdr[:])
	r.head.Store(frameHeaderBytes)
	err = ts[1].Recv(context.Background(), 0, tag(1), nil)
	if !errors.Is(err, ErrStaleGeneration) || !errors.Is(err, allreduce.ErrProtocol) {
		t.Fatalf("want a stale-generation protocol error, got %v", err)
	}
}

func TestCreateAndAttachRefuseBadInput(t *testing.T) {
	for _, spec := range []Spec{
		{Generation: 0, Size: 2},
		{Generation: 1, Size: 0},
		{Generation: 1, Size: MaxSize + 1},
		{Generation: 1, Size: 2, RingBytes: MinRingBytes + 1},
		{Generation: 1, Size: 2, RingBytes: MinRingBytes / 2},
		{Generation: 1, Size: 2, RingBytes: 2 * MaxRingBytes},
		{Generation: 1, Size: MaxSize, RingBytes: MaxRingBytes},
	} {
		if _, err := Create(spec); err == nil {
			t.Errorf("Create(%+v) succeeded", spec)
		}
	}
	seg, err := Create(Spec{Generation: 1, Size: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Close()
	for _, rank := range []int{-1, 2} {
		if _, err := Attach(seg.File(), 1, rank, Config{}); err == nil || !strings.Contains(err.Error(), "outside world") {
			t.Errorf("rank %d: %v", rank, err)
		}
	}
	tr, err := Attach(seg.File(), 1, 0, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if _, err := Attach(seg.File(), 1, 0, Config{}); err == nil || !strings.Contains(err.Error(), "already taken") {
		t.Errorf("second attach of rank 0: %v", err)
	}
	// Files that are not segments: empty, garbage, a header whose length
	// does not match the file.
	for name, content := range map[string][]byte{
		"empty":     nil,
		"garbage":   []byte(strings.Repeat("x", 8192)),
		"truncated": truncatedSegment(t),
	} {
		f, err := os.CreateTemp(t.TempDir(), name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(content); err != nil {
			t.Fatal(err)
		}
		if _, err := Attach(f, 1, 0, Config{}); err == nil {
			t.Errorf("%s file attached", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
		f.Close()
	}
}

// truncatedSegment is a valid segment's first page only.
func truncatedSegment(t *testing.T) []byte {
	seg, err := Create(Spec{Generation: 1, Size: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Close()
	b := make([]byte, pageBytes)
	if _, err := seg.File().ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	return b
}

// Abort wakes this rank's waiters with ErrAborted and its peers' with
// ErrPeerLost; Close after that is clean and later calls say closed.
func TestAbortWakesWaitersOnBothSides(t *testing.T) {
	ts := attachAll(t, Spec{Generation: 1, Size: 3}, Config{})
	ctx := context.Background()
	mine := make(chan error, 1)
	theirs := make(chan error, 1)
	go func() { mine <- ts[0].Recv(ctx, 1, tag(1), make([]float32, 3)) }()
	go func() { theirs <- ts[2].Recv(ctx, 0, tag(1), make([]float32, 3)) }()
	time.Sleep(20 * time.Millisecond)
	ts[0].Abort()
	for name, c := range map[string]struct {
		ch   chan error
		want error
	}{"aborted rank": {mine, allreduce.ErrAborted}, "peer": {theirs, allreduce.ErrPeerLost}} {
		select {
		case err := <-c.ch:
			if !errors.Is(err, c.want) {
				t.Errorf("%s: want %v, got %v", name, c.want, err)
			}
		case <-time.After(time.Second):
			t.Fatalf("%s still blocked after Abort", name)
		}
	}
	if err := ts[0].Close(); err != nil {
		t.Fatal(err)
	}
	if err := ts[0].Send(ctx, 1, tag(1), nil); !errors.Is(err, allreduce.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// Bytes published before a peer closed are still delivered.
func TestFramesSentBeforeCloseAreDelivered(t *testing.T) {
	ts := attachAll(t, Spec{Generation: 1, Size: 2}, Config{})
	ctx := context.Background()
	if err := ts[0].Send(ctx, 1, tag(1), []float32{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	ts[0].Close()
	got := make([]float32, 3)
	if err := ts[1].Recv(ctx, 0, tag(1), got); err != nil || got[2] != 3 {
		t.Fatalf("got %v, %v", got, err)
	}
	if err := ts[1].Recv(ctx, 0, tag(2), got); !errors.Is(err, allreduce.ErrPeerLost) {
		t.Fatalf("after the peer closed: %v", err)
	}
}

func TestContextAndIOTimeout(t *testing.T) {
	ts := attachAll(t, Spec{Generation: 1, Size: 2}, Config{IOTimeout: 30 * time.Millisecond})
	err := ts[0].Recv(context.Background(), 1, tag(1), nil)
	if !errors.Is(err, allreduce.ErrTimeout) {
		t.Fatalf("want ErrTimeout, got %v", err)
	}
	ts = attachAll(t, Spec{Generation: 1, Size: 2}, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := ts[0].Recv(ctx, 1, tag(1), nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want DeadlineExceeded, got %v", err)
	}
}

// Attach refuses a segment whose key is not the one it was given, and
// accepts the right one.
func TestWrongKeyRefused(t *testing.T) {
	key := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	seg, err := Create(Spec{Generation: 3, Size: 2, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Close()
	for _, k := range [][16]byte{{}, {1, 2, 3}, {15: 16}} {
		if _, err := Attach(seg.File(), 3, 0, Config{Key: k}); !errors.Is(err, ErrWrongKey) {
			t.Fatalf("attach with key %x: %v", k, err)
		}
	}
	tr, err := Attach(seg.File(), 3, 0, Config{Key: key})
	if err != nil {
		t.Fatalf("attach with the right key: %v", err)
	}
	tr.Close()
}
