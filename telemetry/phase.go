package telemetry

import (
	"fmt"
	"strings"
	"time"
)

// Phase is a part of a worker's training step (or, PhaseCheckpoint, the
// stall between steps while a checkpoint is taken). Its String is the
// "phase" label of ringtrain_step_phase_seconds.
type Phase uint8

// The phases of a step, in the order they run, then the checkpoint stall.
const (
	PhaseData          Phase = iota // sampling and gathering the batch
	PhaseCompute                    // forward and backward
	PhaseReduceScatter              // gradient reduce-scatter (and the non-finite flag)
	PhaseOptimizer                  // [clip and] optimizer step on this rank's shard
	PhaseAllGather                  // parameter all-gather

	// StepPhases is the number of phases of a step: Phases holds one
	// duration for each phase below it.
	StepPhases

	// PhaseCheckpoint is not part of a step: the training stall of a
	// checkpoint (label only, no slot in Phases).
	PhaseCheckpoint = StepPhases
)

var phaseNames = [...]string{"data", "compute", "reduce_scatter", "optimizer", "all_gather", "checkpoint"}

// String is the metric label: data, compute, reduce_scatter, optimizer,
// all_gather or checkpoint.
func (p Phase) String() string {
	if int(p) < len(phaseNames) {
		return phaseNames[p]
	}
	return fmt.Sprintf("phase(%d)", uint8(p))
}

// Heading is the name shown to people: the label with hyphens
// ("reduce-scatter").
func (p Phase) Heading() string { return strings.ReplaceAll(p.String(), "_", "-") }

// Phases is the time spent in each phase of a step (or the sum or mean over
// several steps), indexed by Phase.
type Phases [StepPhases]time.Duration

// Total is the sum over the phases.
func (p Phases) Total() time.Duration {
	var t time.Duration
	for _, d := range p {
		t += d
	}
	return t
}

// Comm is the time in the collectives: reduce-scatter plus all-gather.
func (p Phases) Comm() time.Duration { return p[PhaseReduceScatter] + p[PhaseAllGather] }

// Add adds o phase by phase.
func (p *Phases) Add(o Phases) {
	for i := range p {
		p[i] += o[i]
	}
}

// Div is p with every phase divided by n (a mean over n steps); n < 1 is
// taken as 1.
func (p Phases) Div(n int) Phases {
	n = max(n, 1)
	for i := range p {
		p[i] /= time.Duration(n)
	}
	return p
}
