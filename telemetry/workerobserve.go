package telemetry

import "time"

// Worker is a StepObserver: it keeps the trainer's steps, windows,
// evaluations and checkpoint stalls in its metrics.
var _ StepObserver = (*Worker)(nil)

// Start sets the rank and world size gauges.
func (w *Worker) Start(rank, world int) {
	w.Rank.Set(float64(rank))
	w.WorldSize.Set(float64(world))
}

// StepEnd observes each phase of a completed step, counts it and its
// samples and bytes, and sets the bus bandwidth of its collectives; a
// skipped step is only counted as skipped.
func (w *Worker) StepEnd(s StepRecord) {
	if s.Skipped {
		w.SkippedSteps.Inc()
		return
	}
	for p, d := range s.Phases {
		w.phase[p].Observe(d.Seconds())
	}
	w.Steps.Inc()
	w.Samples.Add(float64(s.Samples))
	if s.CommBytes > 0 {
		w.AllReduceBytes.Add(s.CommBytes)
		if d := s.Phases.Comm().Seconds(); d > 0 {
			w.BusBandwidth.Set(s.CommBytes / d / 1e9)
		}
	}
}

// WindowEnd sets the loss, learning rate and throughput gauges.
func (w *Worker) WindowEnd(r WindowRecord) {
	w.Loss.Set(r.Loss)
	w.LearningRate.Set(r.LR)
	w.SamplesPerSec.Set(r.SamplesPerS)
}

// Evaluated sets the test loss and accuracy gauges.
func (w *Worker) Evaluated(loss, accuracy float64) {
	w.TestLoss.Set(loss)
	w.TestAccuracy.Set(accuracy)
}

// CheckpointStall observes the stall (also as the "checkpoint" phase) and
// sets the shard size.
func (w *Worker) CheckpointStall(_ time.Time, stall time.Duration, shardBytes int) {
	w.Checkpoint.Observe(stall.Seconds())
	w.phase[PhaseCheckpoint].Observe(stall.Seconds())
	w.CheckpointSize.Set(float64(shardBytes))
}
