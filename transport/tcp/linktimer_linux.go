package tcp

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// linkTimer waits out a frame's time on an emulated link. Go's timers are
// only as fine as the runtime's idle sleep, an epoll_wait whose timeout is
// whole milliseconds (rounded up to 1 ms when under one, truncated above):
// in a process with nothing else to run, as a rank is while its link sends,
// a 200 µs wait took a millisecond and a 4.2 ms one 5 ms, so every frame
// spent up to a millisecond more on the link than its size says. On Linux
// the wait is a timerfd read through the netpoller instead: the kernel's
// high-resolution timer makes the descriptor readable, and that wakes the
// runtime's epoll_wait at once. Where no timerfd can be made, time.Timer.
type linkTimer struct {
	f  *os.File // the timerfd, nil when falling back to tm
	fd int
	tm *time.Timer
	b  [8]byte
}

func newLinkTimer() *linkTimer {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return &linkTimer{tm: stoppedTimer()}
	}
	// A non-blocking descriptor: os.NewFile registers it with the
	// netpoller, so a read parks the goroutine, not the thread.
	return &linkTimer{f: os.NewFile(uintptr(fd), "linkemu-timerfd"), fd: fd}
}

// wait returns after d, or early with false once interrupt was called
// (done tells it apart when the fallback timer is used).
func (t *linkTimer) wait(d time.Duration, done <-chan struct{}) bool {
	if t.f == nil {
		return waitTimer(t.tm, d, done)
	}
	end := time.Now().Add(d)
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(max(d.Nanoseconds(), 1))}
	if err := unix.TimerfdSettime(t.fd, 0, &spec, nil); err == nil {
		_, err = t.f.Read(t.b[:])
		switch {
		case err == nil:
			return true
		case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, os.ErrClosed):
			return false // interrupted
		}
	}
	// Neither is expected of a valid timerfd; keep the link's timing with
	// a Go timer for what is left.
	if t.tm == nil {
		t.tm = stoppedTimer()
	}
	return waitTimer(t.tm, max(time.Until(end), 0), done)
}

// interrupt ends a wait under way and every later one; safe to call from
// another goroutine.
func (t *linkTimer) interrupt() {
	if t.f != nil {
		t.f.SetReadDeadline(time.Unix(1, 0))
	}
}

func (t *linkTimer) close() {
	if t.f != nil {
		t.f.Close()
	}
	if t.tm != nil {
		t.tm.Stop()
	}
}
