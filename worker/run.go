package worker

import (
	"context"
	"time"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/telemetry"

	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// Reporter receives progress (rank 0's is shown, the others' are
// heartbeats), evaluations and trace events.
type Reporter interface {
	Progress(*pb.Progress)
	Eval(*pb.Eval)
	Trace([]telemetry.TraceEvent)
}

// Run trains until the planned number of steps, evaluating at the epoch
// boundaries the job asks for and at the end. Every rank calls it; rank 0
// reports. With a Saver it checkpoints per the job (and at the last step),
// and returns only once every rank's last checkpoint is delivered. It
// returns the run's summary.
func (t *Trainer) Run(ctx context.Context, rep Reporter, saver Saver) (*pb.Summary, error) {
	start, firstStep := time.Now(), t.step
	cp := t.spec.Checkpoint
	if !cp.Enabled() {
		saver = nil
	}
	lastSaved, lastSaveAt := t.step, time.Now()
	save := func() error {
		if saver == nil || t.step == lastSaved {
			return nil
		}
		// The snapshot buffers are reused: the previous upload must be done.
		stall := time.Now()
		if err := saver.Flush(ctx); err != nil {
			return err
		}
		snap := t.Snapshot()
		if m := t.metrics; m != nil {
			m.Checkpoint.Observe(time.Since(stall).Seconds())
			m.StepPhase.WithLabelValues(telemetry.PhaseCheckpoint).Observe(time.Since(stall).Seconds())
			m.CheckpointSize.Set(float64(4 * len(snap.Params) * (1 + len(snap.States))))
		}
		var m *checkpoint.Manifest
		if t.rank == 0 {
			mm, err := t.Manifest(snap.Step, snap.Cursor)
			if err != nil {
				return err
			}
			m = &mm
		}
		lastSaved, lastSaveAt = t.step, time.Now()
		return saver.Save(ctx, snap, m)
	}
	every := t.spec.Train.ReportEvery
	var (
		window      Timing
		windowLoss  float64
		windowN     int
		windowLossN int
		windowT0    = time.Now()
		lastLoss    float64
		testLoss    float64
		testAcc     float64
		evaluated   = -1
	)
	evalEvery := t.spec.Eval.EveryEpochs
	evaluate := func() error {
		l, a, err := t.Evaluate(ctx)
		if err != nil {
			return err
		}
		testLoss, testAcc, evaluated = l, a, t.step
		if m := t.metrics; m != nil {
			m.TestLoss.Set(l)
			m.TestAccuracy.Set(a)
		}
		if t.rank == 0 && rep != nil {
			rep.Eval(&pb.Eval{Step: int64(t.step), Epoch: int32(t.cursor.Epoch), Loss: l, Accuracy: a, Samples: int64(t.test.N)})
		}
		return nil
	}
	for t.step < t.total {
		epoch := t.cursor.Epoch
		loss, tm, err := t.Step(ctx)
		if err != nil {
			return nil, err
		}
		if t.onFirstStep != nil {
			t.onFirstStep()
			t.onFirstStep = nil
		}
		window.add(tm)
		if finite(float64(loss)) {
			windowLoss += float64(loss)
			windowLossN++
		}
		windowN++
		due := cp.EverySteps > 0 && t.step%cp.EverySteps == 0 ||
			cp.EveryEpochs > 0 && t.cursor.Epoch != epoch && t.cursor.Epoch%cp.EveryEpochs == 0 ||
			t.step == t.total
		if windowN == every || t.step == t.total {
			// Rank 0's clock decides time-based checkpoints; the flag rides
			// on the loss all-reduce so every rank agrees.
			timeDue := t.rank == 0 && cp.Every > 0 && time.Since(lastSaveAt) >= cp.Every
			mean, flag, err := t.windowStats(ctx, windowLoss/float64(max(1, windowLossN)), timeDue)
			if err != nil {
				return nil, err
			}
			due = due || flag
			lastLoss = mean
			if m := t.metrics; m != nil {
				m.Loss.Set(mean)
				m.LearningRate.Set(float64(t.sched.At(t.step - 1)))
				m.SamplesPerSec.Set(float64(windowN*t.spec.Train.GlobalBatch) / time.Since(windowT0).Seconds())
			}
			if rep != nil { // every rank: the coordinator's heartbeat of it; rank 0's is shown
				el := time.Since(windowT0).Seconds()
				n := float64(windowN)
				rep.Progress(&pb.Progress{
					Step: int64(t.step), TotalSteps: int64(t.total), Epoch: int32(t.cursor.Epoch), Loss: mean, SkippedSteps: int32(t.skipped),
					SamplesPerS: n * float64(t.spec.Train.GlobalBatch) / el, Lr: float64(t.sched.At(t.step - 1)),
					Timing: &pb.StepTiming{
						DataS: window.Data.Seconds() / n, ComputeS: window.Compute.Seconds() / n,
						ReduceScatterS: window.ReduceScatter.Seconds() / n, OptimizerS: window.Optimizer.Seconds() / n,
						AllGatherS: window.AllGather.Seconds() / n,
					},
				})
			}
			if t.trace != nil && rep != nil {
				rep.Trace(t.trace.Take())
			}
			window, windowLoss, windowN, windowLossN, windowT0 = Timing{}, 0, 0, 0, time.Now()
		}
		if due {
			if err := save(); err != nil {
				return nil, err
			}
		}
		if evalEvery > 0 && t.cursor.Epoch != epoch && t.cursor.Epoch%evalEvery == 0 && t.step < t.total {
			if err := evaluate(); err != nil {
				return nil, err
			}
		}
	}
	if saver != nil {
		// Every rank's last checkpoint is durable before rank 0 reports done.
		if err := saver.Flush(ctx); err != nil {
			return nil, err
		}
		if err := t.comm.Barrier(ctx); err != nil {
			return nil, err
		}
	}
	if evaluated != t.step {
		if err := evaluate(); err != nil {
			return nil, err
		}
	}
	wall := time.Since(start).Seconds()
	epochs := t.cursor.Epoch
	if t.cursor.Step > 0 {
		epochs++
	}
	return &pb.Summary{
		Steps: int64(t.step), Epochs: int32(epochs), TrainLoss: lastLoss, TestLoss: testLoss, TestAccuracy: testAcc,
		WallS: wall, SamplesPerS: float64((t.step-firstStep)*t.spec.Train.GlobalBatch) / wall, WorldSize: int32(t.world),
	}, nil
}
