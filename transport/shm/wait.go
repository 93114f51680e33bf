package shm

import (
	"runtime"
	"time"
)

// Waiting: a waiter polls its condition, first spinning (a peer on another
// core usually answers within microseconds), then yielding the processor,
// then sleeping with a backoff that grows to maxSleep. Between rounds it
// checks its own abort, its context, the peer's liveness and the I/O
// timeout (waitState.check).
const (
	spinRounds  = 256
	yieldRounds = 64
	minSleep    = 2 * time.Microsecond
	maxSleep    = 200 * time.Microsecond
	// livenessEvery: how often a waiting rank asks the kernel whether its
	// peer's process is still alive.
	livenessEvery = 2 * time.Millisecond
)

// backoff paces one wait.
type backoff struct {
	round int
	sleep time.Duration
}

// pause waits a little, more the longer the wait has lasted.
func (b *backoff) pause() {
	b.round++
	switch {
	case b.round <= spinRounds:
		// Spin: the caller's next atomic load is the whole pause.
	case b.round <= spinRounds+yieldRounds:
		runtime.Gosched()
	default:
		if b.sleep == 0 {
			b.sleep = minSleep
		}
		time.Sleep(b.sleep)
		b.sleep = min(2*b.sleep, maxSleep)
	}
}

// checkNow says whether this round should run the slower checks.
func (b *backoff) checkNow() bool {
	return b.round > spinRounds || b.round&31 == 0
}
