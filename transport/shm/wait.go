//go:build linux

package shm

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/ringtrain/ringtrain/allreduce"
)

// Waiting: a waiter polls its condition, first spinning (a peer on another
// core usually answers within microseconds), then yielding the processor
// to other threads and processes (sched_yield) for up to yieldFor, then
// sleeping in futex_wait on the ring's event until the peer's publish wakes
// it, or at most sleepSlice. Between rounds it checks its own abort, its
// context, the peer's liveness and the I/O timeout (waiter.until).
//
// The yield phase is what small collectives live on when ranks outnumber
// cores: a futex wake-up costs the publisher a system call and the waiter
// a trip through the scheduler's wake-up path (tens of microseconds, far
// more under load), while sched_yield hands the core straight to a peer
// that is ready to run and returns at once when none is.
const (
	spinRounds = 16
	// yieldFor bounds the yield phase of one wait (measured: see
	// docs/benchmarks.md, "Small and medium messages (issue 17)").
	yieldFor = 100 * time.Microsecond
	// sleepSlice bounds one futex sleep, so that a peer's death (seen
	// through its pidfd, not a wake) and a cancelled context are noticed.
	sleepSlice = time.Millisecond
	// livenessEvery: how often a waiting rank asks the kernel whether its
	// peer's process is still alive.
	livenessEvery = 2 * time.Millisecond
)

// yieldMaxBytes: only waits for frames up to this size yield for yieldFor;
// larger ones (moved by the pipelined path, whose sender goroutine, and the
// peer's copy, need the cores) yield twice to the Go scheduler and then
// sleep, as yielding slowed them (docs/benchmarks.md).
const yieldMaxBytes = 256 << 10

// backoff paces one wait.
type backoff struct {
	yield      bool // yield for up to yieldFor (a small frame)
	round      int
	yieldStart time.Time // first yield round; zero before
	sleeping   bool      // the yield phase is over
}

// pause waits a little, more the longer the wait has lasted; in the sleep
// phase it sleeps on ev unless cond already holds.
func (b *backoff) pause(ev event, cond func() bool) {
	b.round++
	switch {
	case b.round <= spinRounds:
		// Spin: the caller's next atomic load is the whole pause.
	case !b.yield && b.round <= spinRounds+2:
		runtime.Gosched()
	case !b.yield:
		b.sleeping = true
		b.sleepOn(ev, cond)
	case !b.sleeping:
		if b.yieldStart.IsZero() {
			b.yieldStart = time.Now()
		} else if time.Since(b.yieldStart) >= yieldFor {
			b.sleeping = true
		}
		osYield()
	default:
		b.sleepOn(ev, cond)
	}
}

// sleepOn sleeps on ev (at most sleepSlice) unless cond already holds.
func (b *backoff) sleepOn(ev event, cond func() bool) {
	seen := ev.seq.Load()
	// A count, not a flag: a staging area's event has a sleeper per peer,
	// and one that wakes must not clear another's announcement.
	ev.waiting.Add(1)
	if !cond() {
		ev.sleep(seen, sleepSlice)
	}
	ev.waiting.Add(^uint32(0))
}

// checkNow says whether this round should run the slower checks.
func (b *backoff) checkNow() bool {
	return b.sleeping || b.round&31 == 0
}

// waiter waits for one condition on one peer's ring.
type waiter struct {
	t     *Transport
	peer  int
	ctx   context.Context
	what  string
	bytes int // the frame's payload: small ones yield before sleeping
}

// until returns nil once cond holds, or the reason it never will.
func (w *waiter) until(ev event, cond func() bool) error {
	if cond() {
		return nil
	}
	b := backoff{yield: w.bytes <= yieldMaxBytes || (w.what == "recv" && w.t.sequential.Load())}
	var start, lastLive time.Time
	for {
		b.pause(ev, cond)
		if cond() {
			return nil
		}
		if !b.checkNow() {
			continue
		}
		select {
		case <-w.t.aborted:
			return fmt.Errorf("shm: %s %d<->%d: %w", w.what, w.t.rank, w.peer, allreduce.ErrAborted)
		case <-w.ctx.Done():
			return fmt.Errorf("shm: %s %d<->%d: %w", w.what, w.t.rank, w.peer, w.ctx.Err())
		default:
		}
		if err := w.t.peers[w.peer].gone(); err != nil {
			// Whatever the peer wrote before it went is still delivered.
			if cond() {
				return nil
			}
			return fmt.Errorf("shm: %s %d<->%d: %w: %w", w.what, w.t.rank, w.peer, err, allreduce.ErrPeerLost)
		}
		now := time.Now()
		if start.IsZero() {
			start, lastLive = now, now
			continue
		}
		if now.Sub(lastLive) >= livenessEvery {
			lastLive = now
			if err := w.t.peers[w.peer].alive(); err != nil {
				if cond() {
					return nil
				}
				return fmt.Errorf("shm: %s %d<->%d: %w: %w", w.what, w.t.rank, w.peer, err, allreduce.ErrPeerLost)
			}
		}
		if w.t.cfg.IOTimeout > 0 && now.Sub(start) >= w.t.cfg.IOTimeout {
			return fmt.Errorf("shm: %s %d<->%d: no progress for %v: %w", w.what, w.t.rank, w.peer, w.t.cfg.IOTimeout, allreduce.ErrTimeout)
		}
	}
}
