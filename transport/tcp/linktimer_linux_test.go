package tcp

import (
	"os"
	"testing"
	"time"
)

// The link's timer waits at least what it is asked, returns early (false)
// once interrupted, and every emulated link gives its descriptor back.
func TestLinkTimerWaitInterruptClose(t *testing.T) {
	fds := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skip("no /proc/self/fd:", err)
		}
		return len(ents)
	}
	before := fds()
	tm := newLinkTimer()
	if tm.f == nil {
		t.Fatal("no timerfd on Linux")
	}
	done := make(chan struct{})
	for _, d := range []time.Duration{time.Nanosecond, 150 * time.Microsecond, 3 * time.Millisecond} {
		start := time.Now()
		if !tm.wait(d, done) {
			t.Fatalf("wait(%v) reported an interrupt", d)
		}
		if got := time.Since(start); got < d {
			t.Errorf("wait(%v) returned after %v", d, got)
		}
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		close(done)
		tm.interrupt()
	}()
	start := time.Now()
	if tm.wait(time.Hour, done) {
		t.Fatal("an interrupted wait reported the full time")
	}
	if got := time.Since(start); got > 10*time.Second {
		t.Fatalf("interrupt took %v", got)
	}
	if tm.wait(time.Hour, done) {
		t.Fatal("a wait after interrupt did not return at once")
	}
	tm.close()
	for range 50 {
		e := newLinkEmu((&linkLog{}).write, nil)
		e.stop()
	}
	if after := fds(); after > before {
		t.Fatalf("%d descriptors open before, %d after 50 emulated links", before, after)
	}
}

// BenchmarkLinkTimer measures how late a 200 µs wait on an otherwise idle
// process returns: with the timerfd (linkTimer) and with time.Timer, whose
// idle wake-ups are the runtime's whole-millisecond epoll timeout. Reports
// the mean overshoot in µs.
func BenchmarkLinkTimer(b *testing.B) {
	const d = 200 * time.Microsecond
	done := make(chan struct{})
	fd := newLinkTimer()
	defer fd.close()
	tm := stoppedTimer()
	for _, c := range []struct {
		name string
		wait func() bool
	}{
		{"timerfd", func() bool { return fd.wait(d, done) }},
		{"time.Timer", func() bool { return waitTimer(tm, d, done) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			var over time.Duration
			for b.Loop() {
				start := time.Now()
				c.wait()
				over += time.Since(start) - d
			}
			b.ReportMetric(float64(over.Microseconds())/float64(b.N), "µs-late/op")
		})
	}
}
