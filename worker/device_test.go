package worker

import (
	"context"
	"fmt"
	"testing"

	"github.com/ringtrain/ringtrain/job"
	"github.com/ringtrain/ringtrain/model"
)

// The GPU path's host code (on the emulated device) trains like the CPU
// engine: the same parameters after 15 steps, at 1 and 2 workers (ranks
// agree bitwise; train checks it), with the optimizer's update on the
// device (model.DeviceOptimizer): AdamW, and the other optimizers with
// L2 decay.
func TestEmulatedDeviceTrainsLikeTheCPU(t *testing.T) {
	others := []job.Optimizer{
		{Name: "sgd", Momentum: 0.9, Nesterov: true, WeightDecay: 1e-3},
		{Name: "adagrad", WeightDecay: 1e-3},
		{Name: "rmsprop", WeightDecay: 1e-3},
	}
	specs := []job.Spec{testSpec("adamw"), testSpec("sgd-momentum")}
	for _, o := range others {
		s := testSpec("adamw")
		s.Train.Optimizer = o
		specs = append(specs, s)
	}
	for _, spec := range specs {
		cpu := train(t, spec, 1, steps(15))
		spec.Model.Device = "emu"
		for _, world := range []int{1, 2} {
			name := spec.Train.Optimizer.Name
			if spec.Train.Optimizer.Momentum > 0 {
				name += fmt.Sprintf("_momentum_nesterov%v", spec.Train.Optimizer.Nesterov)
			}
			t.Run(fmt.Sprintf("%s/world%d", name, world), func(t *testing.T) {
				got := train(t, spec, world, onDevice(steps(15)))
				d := relDiff(got, cpu)
				t.Logf("relative difference to the CPU: %.2e", d)
				if d > 1e-5 {
					t.Fatalf("relative difference %.2e > 1e-5", d)
				}
			})
		}
	}
}

// onDevice runs run after checking that the trainer's optimizer updates
// on the device.
func onDevice(run func(context.Context, *Trainer) error) func(context.Context, *Trainer) error {
	return func(ctx context.Context, tr *Trainer) error {
		if _, ok := tr.opt.(*model.DeviceOptimizer); !ok {
			return fmt.Errorf("the trainer's optimizer is a %T, want *model.DeviceOptimizer", tr.opt)
		}
		return run(ctx, tr)
	}
}
