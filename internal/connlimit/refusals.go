package connlimit

import (
	"log/slog"
	"sync"
	"time"
)

// RefusalLog logs refused connections, at most burst lines per second: a
// flood of connections must not become a flood of log lines. What it drops
// is counted and reported with the next line it lets through. Every
// listener of ours that refuses connections logs through one (the gates
// here, transport/tcp's data plane).
type RefusalLog struct {
	log   *slog.Logger
	burst int
	now   func() time.Time

	mu         sync.Mutex
	window     time.Time
	n          int
	suppressed int
}

// NewRefusalLog logs to log, at most burst lines a second.
func NewRefusalLog(log *slog.Logger, burst int) *RefusalLog {
	return &RefusalLog{log: log, burst: burst, now: time.Now}
}

// Warn logs msg with args unless this second's budget is spent.
func (r *RefusalLog) Warn(msg string, args ...any) {
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
