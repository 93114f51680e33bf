package telemetry

import "time"

// StepObserver is told what a worker's trainer does: the worker's metrics
// (Worker) and the trace recorder (Recorder) implement it, Observers fans
// out to several, NopObserver to none. The trainer calls it from its own
// goroutine, unconditionally; an implementation must be quick, must not
// block, and StepEnd must not allocate (it runs every step).
type StepObserver interface {
	// Start: the trainer takes part in a generation as rank of world.
	Start(rank, world int)
	// StepEnd: a step ended, with the time of each of its phases.
	StepEnd(s StepRecord)
	// WindowEnd: a reporting window ended.
	WindowEnd(w WindowRecord)
	// Evaluated: the held-out split was evaluated.
	Evaluated(loss, accuracy float64)
	// CheckpointStall: training stood still for a checkpoint from start for
	// stall (the snapshot copy and any wait for the previous upload); this
	// rank's shard holds shardBytes.
	CheckpointStall(start time.Time, stall time.Duration, shardBytes int)
}

// StepRecord is one step as the trainer saw it.
type StepRecord struct {
	Step    int       // index of the step (steps completed before it)
	Epoch   int       // epoch of its batch
	Loss    float32   // this rank's loss on its part of the batch
	Start   time.Time // when its first phase began; each phase starts where the one before ends
	Phases  Phases    // time in each phase
	Samples int       // this rank's samples
	// CommBytes is the bytes this rank sent in the step's reduce-scatter
	// and all-gather (0 for one rank).
	CommBytes float64
	// Skipped: the gradient was not finite on some rank, so no rank
	// updated; only the data, compute and reduce-scatter phases ran.
	Skipped bool
}

// WindowRecord is one reporting window.
type WindowRecord struct {
	Loss        float64 // mean training loss over the ranks and the window's steps
	LR          float64 // learning rate of the window's last step
	SamplesPerS float64 // global training throughput
}

// NopObserver observes nothing.
type NopObserver struct{}

func (NopObserver) Start(int, int)                                {}
func (NopObserver) StepEnd(StepRecord)                            {}
func (NopObserver) WindowEnd(WindowRecord)                        {}
func (NopObserver) Evaluated(float64, float64)                    {}
func (NopObserver) CheckpointStall(time.Time, time.Duration, int) {}

// Observers is one StepObserver telling each of obs, in order; nil ones
// are left out.
func Observers(obs ...StepObserver) StepObserver {
	var m multi
	for _, o := range obs {
		if o != nil {
			m = append(m, o)
		}
	}
	switch len(m) {
	case 0:
		return NopObserver{}
	case 1:
		return m[0]
	}
	return m
}

type multi []StepObserver

func (m multi) Start(rank, world int) {
	for _, o := range m {
		o.Start(rank, world)
	}
}

func (m multi) StepEnd(s StepRecord) {
	for _, o := range m {
		o.StepEnd(s)
	}
}

func (m multi) WindowEnd(w WindowRecord) {
	for _, o := range m {
		o.WindowEnd(w)
	}
}

func (m multi) Evaluated(loss, accuracy float64) {
	for _, o := range m {
		o.Evaluated(loss, accuracy)
	}
}

func (m multi) CheckpointStall(start time.Time, stall time.Duration, shardBytes int) {
	for _, o := range m {
		o.CheckpointStall(start, stall, shardBytes)
	}
}
