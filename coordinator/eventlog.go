package coordinator

import (
	"context"
	"log/slog"
	"sync"

	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// maxEvents is how many recent events Status keeps.
const maxEvents = 200

// eventLog logs every published event at its kind's level and keeps the
// most recent ones for Status and the dashboard. It is an eventObserver and
// owns its state.
type eventLog struct {
	log *slog.Logger

	mu     sync.Mutex  // guards events
	events []*pb.Event // the newest maxEvents, oldest first
}

func newEventLog(log *slog.Logger) *eventLog { return &eventLog{log: log} }

func (l *eventLog) observeEvent(e published) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// Logged under the lock, so that the log and Status list events in the
	// same order.
	l.log.Log(context.Background(), e.Kind.Level(), e.Message, "event", e.Kind.String(), "generation", e.Generation)
	l.events = append(l.events, &pb.Event{UnixMs: e.At.UnixMilli(), Kind: e.Kind.String(), Message: e.Message})
	if len(l.events) > maxEvents {
		l.events = l.events[len(l.events)-maxEvents:]
	}
}

// recent returns the kept events, oldest first. The slice is the caller's;
// the events are shared and never modified.
func (l *eventLog) recent() []*pb.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*pb.Event(nil), l.events...)
}
