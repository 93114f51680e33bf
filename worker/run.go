package worker

import (
	"context"
	"time"

	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// Reporter receives rank 0's progress and evaluations.
type Reporter interface {
	Progress(*pb.Progress)
	Eval(*pb.Eval)
}

// Run trains until the planned number of steps, evaluating at the epoch
// boundaries the job asks for and at the end. Every rank calls it; rank 0
// reports. It returns the run's summary.
func (t *Trainer) Run(ctx context.Context, rep Reporter) (*pb.Summary, error) {
	start := time.Now()
	every := t.spec.Train.ReportEvery
	var (
		window     Timing
		windowLoss float64
		windowN    int
		windowT0   = time.Now()
		lastLoss   float64
		testLoss   float64
		testAcc    float64
		evaluated  = -1
	)
	evalEvery := t.spec.Eval.EveryEpochs
	evaluate := func() error {
		l, a, err := t.Evaluate(ctx)
		if err != nil {
			return err
		}
		testLoss, testAcc, evaluated = l, a, t.step
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
		window.add(tm)
		windowLoss += float64(loss)
		windowN++
		if windowN == every || t.step == t.total {
			mean, err := t.MeanOverRanks(ctx, windowLoss/float64(windowN))
			if err != nil {
				return nil, err
			}
			lastLoss = mean
			if t.rank == 0 && rep != nil {
				el := time.Since(windowT0).Seconds()
				n := float64(windowN)
				rep.Progress(&pb.Progress{
					Step: int64(t.step), TotalSteps: int64(t.total), Epoch: int32(t.cursor.Epoch), Loss: mean,
					SamplesPerS: n * float64(t.spec.Train.GlobalBatch) / el, Lr: float64(t.sched.At(t.step - 1)),
					Timing: &pb.StepTiming{
						DataS: window.Data.Seconds() / n, ComputeS: window.Compute.Seconds() / n,
						ReduceScatterS: window.ReduceScatter.Seconds() / n, OptimizerS: window.Optimizer.Seconds() / n,
						AllGatherS: window.AllGather.Seconds() / n,
					},
				})
			}
			window, windowLoss, windowN, windowT0 = Timing{}, 0, 0, time.Now()
		}
		if evalEvery > 0 && t.cursor.Epoch != epoch && t.cursor.Epoch%evalEvery == 0 && t.step < t.total {
			if err := evaluate(); err != nil {
				return nil, err
			}
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
		WallS: wall, SamplesPerS: float64(t.step*t.spec.Train.GlobalBatch) / wall, WorldSize: int32(t.world),
	}, nil
}
