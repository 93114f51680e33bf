package coordinator

import (
	"log/slog"
	"time"
)

// EventKind classifies an event of the run. Its string is what Status,
// `ringtrain status`, the dashboard and the logs (event=...) show, so the
// values never change; docs/architecture.md lists them all.
type EventKind string

// The kinds of events. Core logs the decisions; the Server logs what it
// observes (commits, recoveries, anomalies).
const (
	// Core's decisions.
	EventJoin             EventKind = "join"              // a worker joined
	EventRendezvous       EventKind = "rendezvous"        // settling for more workers, or back to waiting
	EventGeneration       EventKind = "generation"        // a generation formed
	EventLeave            EventKind = "leave"             // a worker that held no rank failed or left
	EventFailure          EventKind = "failure"           // a ranked worker was lost or its generation stalled: the generation ends
	EventPaused           EventKind = "paused"            // too few workers left for a valid world size
	EventScaleUp          EventKind = "scale-up"          // standby workers admitted at a checkpoint
	EventCheckpointFailed EventKind = "checkpoint-failed" // a checkpoint could not be stored
	EventDone             EventKind = "done"              // the run completed
	EventFailed           EventKind = "failed"            // the run failed
	EventStopped          EventKind = "stopped"           // the run was stopped (not a failure)

	// The Server's observations.
	EventCheckpoint EventKind = "checkpoint" // a checkpoint was committed
	EventRecovered  EventKind = "recovered"  // the generation after a failure reported progress
	EventRestored   EventKind = "restored"   // where a generation's state came from: the survivors' replicas or a checkpoint
	EventAnomaly    EventKind = "anomaly"    // a loss spike, a straggler or a worker failing again and again
	EventGossip     EventKind = "gossip"     // gossip declared a worker failed or gone while its control stream is open: not acted on
)

// EventKinds lists every kind, Core's first.
func EventKinds() []EventKind {
	return []EventKind{EventJoin, EventRendezvous, EventGeneration, EventLeave, EventFailure, EventPaused,
		EventScaleUp, EventCheckpointFailed, EventDone, EventFailed, EventStopped,
		EventCheckpoint, EventRecovered, EventRestored, EventAnomaly, EventGossip}
}

// String is the kind's wire and log name.
func (k EventKind) String() string { return string(k) }

// Level is the log level of an event of this kind: a failed run or
// checkpoint is an error, a lost worker or a paused run a warning, the rest
// information.
func (k EventKind) Level() slog.Level {
	switch k {
	case EventCheckpointFailed, EventFailed:
		return slog.LevelError
	case EventFailure, EventPaused, EventGossip:
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// Event is a log entry of a decision or an observation.
type Event struct {
	Kind    EventKind
	Message string
}

// published is an event as the Server publishes it: with the generation it
// happened in and when.
type published struct {
	Event
	Generation uint64
	At         time.Time
}

// eventObserver is told every published event, in the order published.
type eventObserver interface {
	observeEvent(published)
}
