package allreduce

import (
	"context"
	"testing"
)

// bufferedStub is a Transport that only reports its send buffering (and
// optionally not even that); sequentialAhead never sends.
type bufferedStub struct {
	rank, size int
	buffer     int // < 0: not a SendBufferer
}

func (s *bufferedStub) Rank() int                                       { return s.rank }
func (s *bufferedStub) Size() int                                       { return s.size }
func (s *bufferedStub) Send(context.Context, int, Tag, []float32) error { return ErrAborted }
func (s *bufferedStub) Recv(context.Context, int, Tag, []float32) error { return ErrAborted }
func (s *bufferedStub) Abort()                                          {}
func (s *bufferedStub) withBuffer() Transport                           { return &bufferedSender{s} }
func (s *bufferedStub) transport() Transport {
	if s.buffer < 0 {
		return s
	}
	return s.withBuffer()
}

type bufferedSender struct{ *bufferedStub }

func (s *bufferedSender) SendBuffer() int { return s.buffer }

func TestInlineFits(t *testing.T) {
	const kib = 1 << 10
	ring := func(rank, size, bytes int) ([]Step, int) { return RingAllReduce(rank, size, bytes/4), 0 }
	exchange := func(peer, bytes int) ([]Step, int) {
		return []Step{{To: peer, From: peer, SendHi: bytes / 4, RecvHi: bytes / 4, SendWire: 1, RecvWire: 1}}, 1
	}
	for _, tc := range []struct {
		name   string
		size   int
		buffer int // < 0: the transport does not say
		steps  func() ([]Step, int)
		want   int // sequentialAhead's ahead; -1: not sequential
	}{
		{"unknown buffer, 16 KiB steps", 4, -1, func() ([]Step, int) { return ring(0, 4, 64*kib) }, allAhead},
		{"unknown buffer, 32 KiB steps", 4, -1, func() ([]Step, int) { return ring(0, 4, 128*kib) }, -1},
		{"unknown buffer, 64 KiB exchange", 2, -1, func() ([]Step, int) { return exchange(1, 64*kib) }, -1},
		{"4 MiB buffer, 64 KiB exchange", 2, 4 << 20, func() ([]Step, int) { return exchange(1, 64*kib) }, allAhead},
		{"4 MiB buffer, 1 MiB exchange", 2, 4 << 20, func() ([]Step, int) { return exchange(1, 1<<20) }, allAhead},
		{"4 MiB buffer, ring 1 MiB world 2", 2, 4 << 20, func() ([]Step, int) { return ring(0, 2, 1<<20) }, allAhead},
		{"4 MiB buffer, ring 1 MiB world 4", 4, 4 << 20, func() ([]Step, int) { return ring(3, 4, 1<<20) }, allAhead},
		{"4 MiB buffer, ring 4 MiB world 2 (over inlineMaxBytes): 3 frames fit", 2, 4 << 20, func() ([]Step, int) { return ring(0, 2, 4<<20) }, 2},
		{"256 KiB buffer, ring 256 KiB world 2", 2, 256 * kib, func() ([]Step, int) { return ring(0, 2, 256*kib) }, allAhead},
		{"256 KiB buffer, ring 1 MiB world 2 (512 KiB steps)", 2, 256 * kib, func() ([]Step, int) { return ring(0, 2, 1<<20) }, -1},
		{"64 KiB buffer keeps the 16 KiB rule", 4, 64 * kib, func() ([]Step, int) { return ring(0, 4, 64*kib) }, allAhead},
		{"64 KiB buffer, 64 KiB exchange (header does not fit)", 2, 64 * kib, func() ([]Step, int) { return exchange(1, 64*kib) }, -1},
		{"zero buffer, 64 KiB exchange", 2, 0, func() ([]Step, int) { return exchange(1, 64*kib) }, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stub := &bufferedStub{size: tc.size, buffer: tc.buffer}
			c, err := New(stub.transport(), DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			steps, minFrames := tc.steps()
			got, ok := c.sequentialAhead(steps, minFrames)
			if !ok {
				got = -1
			}
			if got != tc.want {
				t.Errorf("sequentialAhead = %d, want %d (send buffer %d)", got, tc.want, c.sendBuffer)
			}
		})
	}
}

// Frames count against the buffer: many small segments of one step add a
// header each.
func TestInlineFitsCountsHeaders(t *testing.T) {
	const buffer = 1 << 20
	stub := &bufferedStub{size: 2, buffer: buffer}
	c, err := New(stub.transport(), Config{SegmentBytes: 4 << 10, SmallBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A step of exactly the buffer's payload, in 4 KiB frames: the headers
	// tip it over.
	frames := buffer / (4 << 10)
	steps := []Step{{To: 1, From: 1, SendHi: buffer / 4, RecvHi: buffer / 4}}
	if a, _ := c.sequentialAhead(steps, 0); a == allAhead {
		t.Errorf("%d bytes in %d frames fit a buffer of %d", buffer, frames, buffer)
	}
	steps[0].SendHi = (buffer - frames*frameOverhead) / 4
	steps[0].RecvHi = steps[0].SendHi
	if a, _ := c.sequentialAhead(steps, 0); a != allAhead {
		t.Errorf("payload plus headers within the buffer %d does not fit", buffer)
	}
}
