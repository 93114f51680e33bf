package tcp

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// linkLog records what an emulated link did: when each frame was handed
// over, when it was due on the wire's far end, and the bytes written.
type linkLog struct {
	mu      sync.Mutex
	handed  []time.Time
	due     []time.Time
	written [][]byte
	fail    error
}

func (l *linkLog) scheduled(handed, due time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.handed, l.due = append(l.handed, handed), append(l.due, due)
}

func (l *linkLog) write(b []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail != nil {
		return l.fail
	}
	l.written = append(l.written, append([]byte(nil), b...))
	return nil
}

func (l *linkLog) snapshot() ([]time.Time, []time.Time, [][]byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Time(nil), l.handed...), append([]time.Time(nil), l.due...), append([][]byte(nil), l.written...)
}

// Every frame is due its link time after it was handed over or after the
// frame before it was due, whichever is later; it is written no earlier;
// the bytes arrive whole and in order. Host work between frames (the 5 ms
// sleeps) overlaps the link time instead of adding to it, and an idle link
// charges a frame its whole time.
func TestLinkEmuSchedule(t *testing.T) {
	var log linkLog
	var written []time.Time
	var mu sync.Mutex
	e := newLinkEmu(func(b []byte) error {
		mu.Lock()
		written = append(written, time.Now())
		mu.Unlock()
		return log.write(b)
	}, log.scheduled)
	defer e.stop()
	const d = 20 * time.Millisecond
	ctx := context.Background()
	hdr := make([]byte, HeaderSize)
	for i := range 6 {
		hdr[0] = byte(i)
		if err := e.send(ctx, hdr, []byte{byte(i), 1, 2, 3}, d); err != nil {
			t.Fatal(err)
		}
		switch i {
		case 0, 1, 2:
			time.Sleep(5 * time.Millisecond) // work shorter than the link time
		case 3:
			e.flush(time.Second)
			time.Sleep(3 * d) // the link goes idle
		}
	}
	e.flush(time.Second)
	handed, due, frames := log.snapshot()
	if len(frames) != 6 {
		t.Fatalf("%d frames written, want 6", len(frames))
	}
	for i := range frames {
		if len(frames[i]) != HeaderSize+4 || frames[i][0] != byte(i) || frames[i][HeaderSize] != byte(i) {
			t.Fatalf("frame %d written as % x", i, frames[i][:1])
		}
		want := handed[i].Add(d)
		if i > 0 && due[i-1].Add(d).After(want) {
			want = due[i-1].Add(d)
		}
		if !due[i].Equal(want) {
			t.Errorf("frame %d due %v after it was handed over, want %v", i, due[i].Sub(handed[i]), want.Sub(handed[i]))
		}
		if written[i].Before(due[i]) {
			t.Errorf("frame %d written %v before it was due", i, due[i].Sub(written[i]))
		}
	}
	// Back to back: frames 1..3 were handed over while the link was busy,
	// so each is due exactly one link time after the one before.
	for i := 1; i <= 3; i++ {
		if !handed[i].Before(due[i-1]) || due[i].Sub(due[i-1]) != d {
			t.Errorf("frame %d: handed over %v before the link was free, due %v after frame %d; want a link time after it",
				i, due[i-1].Sub(handed[i]), due[i].Sub(due[i-1]), i-1)
		}
	}
	if h := handed[4]; h.Before(due[3]) || due[4].Sub(h) != d {
		t.Errorf("after an idle link: due %v after handed over, want %v", due[4].Sub(h), d)
	}
}

// A failed write fails the next send; stop drops queued frames and ends
// the goroutine while it waits out a frame's link time.
func TestLinkEmuFailureAndStop(t *testing.T) {
	var log linkLog
	boom := errors.New("boom")
	log.fail = boom
	e := newLinkEmu(log.write, nil)
	ctx := context.Background()
	if err := e.send(ctx, make([]byte, HeaderSize), nil, 0); err != nil {
		t.Fatal(err)
	}
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		err = e.send(ctx, make([]byte, HeaderSize), nil, 0)
		time.Sleep(time.Millisecond)
	}
	if !errors.Is(err, boom) {
		t.Fatalf("send after a failed write: %v", err)
	}
	e.stop()

	e = newLinkEmu((&linkLog{}).write, nil)
	if err := e.send(ctx, make([]byte, HeaderSize), nil, time.Hour); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	e.stop()
	if d := time.Since(start); d > time.Second {
		t.Fatalf("stop took %v", d)
	}
	if err := e.send(ctx, make([]byte, HeaderSize), nil, 0); !errors.Is(err, errLinkStopped) && err != nil {
		t.Fatalf("send after stop: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	e2 := newLinkEmu((&linkLog{}).write, nil)
	defer e2.stop()
	for range 2 {
		e2.send(ctx, make([]byte, HeaderSize), nil, time.Hour) // fills both buffers
	}
	if err := e2.send(cctx, make([]byte, HeaderSize), nil, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("send with both frames queued and a cancelled context: %v", err)
	}
}
