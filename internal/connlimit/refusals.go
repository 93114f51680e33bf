package connlimit

import (
	"log/slog"
	"sync"
	"time"
)

// refusalLog logs refused connections, at most burst lines per second (as
// transport/tcp's data plane does): a flood of connections must not become
// a flood of log lines. What it drops is counted and reported with the
// next line it lets through.
type refusalLog struct {
	log   *slog.Logger
	burst int
	now   func() time.Time

	mu         sync.Mutex
	window     time.Time
	n          int
	suppressed int
}

func newRefusalLog(log *slog.Logger, burst int) *refusalLog {
	return &refusalLog{log: log, burst: burst, now: time.Now}
}

// warn logs msg with args unless this second's budget is spent.
func (r *refusalLog) warn(msg string, args ...any) {
	r.mu.Lock()
	now := r.now()
	if now.Sub(r.window) >= time.Second {
		r.window, r.n = now, 0
	}
	if r.n >= r.burst {
		r.suppressed++
		r.mu.Unlock()
		return
	}
	r.n++
	dropped := r.suppressed
	r.suppressed = 0
	r.mu.Unlock()
	if dropped > 0 {
		args = append(args, "suppressed_since_last", dropped)
	}
	r.log.Warn(msg, args...)
}
