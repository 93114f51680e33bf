package telemetry

import (
	"fmt"
	"time"
)

// Recorder is a StepObserver: a span per completed step ("step N", category
// "step", with its loss and epoch), one per phase inside it (category
// "phase", named by the Phase label) and one per checkpoint stall, between
// steps ("checkpoint", category "checkpoint").
var _ StepObserver = (*Recorder)(nil)

// Start records nothing.
func (r *Recorder) Start(int, int) {}

// StepEnd records the step's span and its phases' spans, back to back from
// s.Start. A skipped step records nothing.
func (r *Recorder) StepEnd(s StepRecord) {
	if s.Skipped {
		return
	}
	r.Span(fmt.Sprintf("step %d", s.Step), "step", s.Start, s.Start.Add(s.Phases.Total()), map[string]any{"loss": s.Loss, "epoch": s.Epoch})
	at := s.Start
	for p, d := range s.Phases {
		r.Span(Phase(p).String(), "phase", at, at.Add(d), nil)
		at = at.Add(d)
	}
}

// WindowEnd records nothing.
func (r *Recorder) WindowEnd(WindowRecord) {}

// Evaluated records nothing.
func (r *Recorder) Evaluated(float64, float64) {}

// CheckpointStall records a "checkpoint" span (category "checkpoint").
func (r *Recorder) CheckpointStall(start time.Time, stall time.Duration, _ int) {
	r.Span(PhaseCheckpoint.String(), "checkpoint", start, start.Add(stall), nil)
}

// RingSpan records one step of a collective (category "ring", named "OP
// step N"); it has the shape of allreduce.Comm's tracer, with op as any
// Stringer.
func (r *Recorder) RingSpan(op fmt.Stringer, step int, start, end time.Time) {
	r.Span(fmt.Sprintf("%s step %d", op, step), "ring", start, end, nil)
}
