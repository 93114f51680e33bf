//go:build !linux

package tcp

import "time"

// linkTimer waits out a frame's time on an emulated link; here with
// time.Timer (linktimer_linux.go uses a timerfd for finer waits).
type linkTimer struct{ tm *time.Timer }

func newLinkTimer() *linkTimer { return &linkTimer{tm: stoppedTimer()} }

func (t *linkTimer) wait(d time.Duration, done <-chan struct{}) bool {
	return waitTimer(t.tm, d, done)
}

func (t *linkTimer) interrupt() {}

func (t *linkTimer) close() { t.tm.Stop() }
