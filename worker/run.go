package worker

import (
	"context"
	"time"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/telemetry"
)

// Reporter receives progress at the end of every reporting window (rank
// 0's is shown, the others' are heartbeats) and, on rank 0, evaluations.
type Reporter interface {
	Progress(Progress)
	Eval(Eval)
}

// Run trains until the planned number of steps, evaluating at the epoch
// boundaries the job asks for and at the end. Every rank calls it; rank 0
// reports. With a Saver it checkpoints per the job (and at the last step),
// and returns only once every rank's last checkpoint is delivered. It
// returns the run's summary.
func (t *Trainer) Run(ctx context.Context, rep Reporter, saver Saver) (Summary, error) {
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
		if err := t.optErr(); err != nil { // the state did not come off the device
			return err
		}
		t.obs.CheckpointStall(stall, time.Since(stall), 4*len(snap.Params)*(1+len(snap.States)))
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
		window      telemetry.Phases
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
	// Evaluations during training use the validation split when
	// data.val_fraction carved one; the last one the test split.
	evaluate := func() error {
		eval, samples := t.EvaluateValidation, t.EvalSamples()
		if t.step == t.total {
			eval = t.Evaluate
		} else if t.corpus.Val != nil {
			samples = t.corpus.Val.N
		}
		l, a, err := eval(ctx)
		if err != nil {
			return err
		}
		testLoss, testAcc, evaluated = l, a, t.step
		t.obs.Evaluated(l, a)
		if t.rank == 0 && rep != nil {
			rep.Eval(Eval{Step: t.step, Epoch: t.cursor.Epoch, Loss: l, Accuracy: a, Samples: samples})
		}
		return nil
	}
	for t.step < t.total {
		epoch := t.cursor.Epoch
		loss, ph, err := t.Step(ctx)
		if err != nil {
			return Summary{}, err
		}
		if t.onFirstStep != nil {
			t.onFirstStep()
			t.onFirstStep = nil
		}
		window.Add(ph)
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
				return Summary{}, err
			}
			due = due || flag
			lastLoss = mean
			w := telemetry.WindowRecord{Loss: mean, LR: float64(t.sched.At(t.step - 1)),
				SamplesPerS: float64(windowN*t.spec.Train.GlobalBatch) / time.Since(windowT0).Seconds()}
			t.obs.WindowEnd(w)
			if rep != nil { // every rank: the coordinator's heartbeat of it; rank 0's is shown
				rep.Progress(Progress{Step: t.step, TotalSteps: t.total, Epoch: t.cursor.Epoch, Loss: mean, SkippedSteps: t.skipped,
					SamplesPerS: w.SamplesPerS, LR: w.LR, Phases: window.Div(windowN)})
			}
			window, windowLoss, windowN, windowLossN, windowT0 = telemetry.Phases{}, 0, 0, 0, time.Now()
		}
		if due {
			if err := save(); err != nil {
				return Summary{}, err
			}
		}
		if evalEvery > 0 && t.cursor.Epoch != epoch && t.cursor.Epoch%evalEvery == 0 && t.step < t.total {
			if err := evaluate(); err != nil {
				return Summary{}, err
			}
		}
	}
	if saver != nil {
		// Every rank's last checkpoint is durable before rank 0 reports done.
		if err := saver.Flush(ctx); err != nil {
			return Summary{}, err
		}
		if err := t.settle(); err != nil {
			return Summary{}, err
		}
		if err := t.comm.Barrier(ctx); err != nil {
			return Summary{}, err
		}
	}
	if evaluated != t.step {
		if err := evaluate(); err != nil {
			return Summary{}, err
		}
	}
	wall := time.Since(start)
	epochs := t.cursor.Epoch
	if t.cursor.Step > 0 {
		epochs++
	}
	return Summary{
		Steps: t.step, Epochs: epochs, TrainLoss: lastLoss, TestLoss: testLoss, TestAccuracy: testAcc,
		Wall: wall, SamplesPerS: float64((t.step-firstStep)*t.spec.Train.GlobalBatch) / wall.Seconds(), WorldSize: t.world,
	}, nil
}
