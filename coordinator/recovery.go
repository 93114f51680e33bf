package coordinator

import (
	"sync"
	"time"
)

// recoveryClock times a recovery: from the first failure that ended a
// generation (an EventFailure) to the first progress report of rank 0 that
// the Server accepts afterwards. It is an eventObserver and owns its lock.
// The Server starts and stops it while holding Server.mu, so a report
// accepted before the failure can never stop it.
type recoveryClock struct {
	mu    sync.Mutex // guards since
	since time.Time  // when the current recovery began; zero when none is under way
}

func (r *recoveryClock) observeEvent(e published) {
	if e.Kind != EventFailure {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.since.IsZero() {
		r.since = e.At
	}
}

// finish ends the recovery under way, if any, at now and says how long it
// took.
func (r *recoveryClock) finish(now time.Time) (time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.since.IsZero() {
		return 0, false
	}
	d := now.Sub(r.since)
	r.since = time.Time{}
	return d, true
}
