package model_test

import (
	"errors"
	"testing"

	"github.com/ringtrain/ringtrain/model"
	"github.com/ringtrain/ringtrain/model/device"
)

var deviceSpecs = []struct {
	name  string
	spec  model.Spec
	batch int
}{
	{"softmax regression", model.Spec{Kind: model.KindMLP, Input: []int{7}, Classes: 3, Loss: model.LossXent}, 5},
	{"mlp xent", model.Spec{Kind: model.KindMLP, Input: []int{1, 6, 6}, Hidden: []int{17, 33}, Classes: 10, Loss: model.LossXent}, 19},
	{"mlp mse", model.Spec{Kind: model.KindMLP, Input: []int{20}, Hidden: []int{16}, Classes: 4, Loss: model.LossMSE}, 16},
	{"mnist-shaped", model.Spec{Kind: model.KindMLP, Input: []int{28, 28}, Hidden: []int{64}, Classes: 10, Loss: model.LossXent}, 32},
}

// TestDeviceModelMatchesCPU: on the emulated device the mlp's loss and
// gradients over several SGD steps, and its evaluation, match the CPU
// model's (gorgonia's fused kernels) to float32 rounding.
func TestDeviceModelMatchesCPU(t *testing.T) {
	for _, tc := range deviceSpecs {
		t.Run(tc.name, func(t *testing.T) {
			cpu, dm := emuTwins(t, tc.spec, tc.batch, 3)
			matchPasses(t, cpu, dm, passes{n: 3, seed: 10, sgd: true})
			matchEval(t, cpu, dm, 300, 99) // more than one eval chunk of 256
		})
	}
}

// TestDeviceModelAccumulates: two accumulated half-scaled passes give the
// gradient of the mean over both batches, like the CPU model.
func TestDeviceModelAccumulates(t *testing.T) {
	tc := deviceSpecs[1]
	cpu, dm := emuTwins(t, tc.spec, tc.batch, 5)
	matchPasses(t, cpu, dm, passes{n: 2, seed: 20, pass: accumulating})
}

// TestDeviceModelHooks: with buckets, every bucket's parameters are
// copied to the device only after its WaitParams and its gradients are
// final at its GradReady (the shared hook check of the CPU engine).
func TestDeviceModelHooks(t *testing.T) {
	tc := deviceSpecs[3]
	deviceHooks(t, tc.spec, tc.batch, 0, 64, 1<<10, 16<<10)
}

// TestDeviceModelRefuses: kinds without device kernels, bad batches and
// bad samples are errors naming the problem; a closed model says so.
func TestDeviceModelRefuses(t *testing.T) {
	emu := device.NewEmu()
	norm := model.Spec{Kind: model.KindLayers, Input: []int{8}, Classes: 3, Loss: model.LossXent,
		Net: []model.Layer{{Type: model.LayerLinear, Out: 4}, {Type: model.LayerLayerNorm}, {Type: model.LayerLinear, Out: 3}}}
	if _, err := model.NewDeviceModel(norm, 4, emu); !errors.Is(err, model.ErrSpec) {
		t.Fatalf("layernorm on a device: %v, want ErrSpec", err)
	}
	tc := deviceSpecs[0]
	if _, err := model.NewDeviceModel(tc.spec, 0, emu); !errors.Is(err, model.ErrInput) {
		t.Fatalf("batch 0: %v, want ErrInput", err)
	}
	if emu.Live() != 0 {
		t.Fatalf("%d allocations left by refused models", emu.Live())
	}
	dm := newDeviceModel(t, tc.spec, tc.batch, 1)
	x, y := randomBatch(tc.spec, tc.batch, 1)
	y[2] = int32(tc.spec.Classes)
	if _, err := dm.ForwardBackwardWith(x, y, model.Pass{}); !errors.Is(err, model.ErrInput) {
		t.Fatalf("label out of range: %v, want ErrInput", err)
	}
	if _, err := dm.ForwardBackwardWith(x[1:], y, model.Pass{}); !errors.Is(err, model.ErrInput) {
		t.Fatalf("short x: %v, want ErrInput", err)
	}
	if _, _, err := dm.Evaluate(x, y[:3]); !errors.Is(err, model.ErrInput) {
		t.Fatalf("Evaluate with mismatched x, y: %v, want ErrInput", err)
	}
	if err := dm.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := dm.ForwardBackwardWith(x, y, model.Pass{}); !errors.Is(err, model.ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
	if len(dm.Params()) == 0 {
		t.Fatal("Params unreadable after Close")
	}
}

// TestDeviceModelOnPTX: the training pass on the project's PTX kernels
// themselves (interpreted by ptxsim, as a GPU would run them) matches the
// CPU model: loss, gradients over two steps, accumulation and evaluation.
func TestDeviceModelOnPTX(t *testing.T) {
	for _, tc := range deviceSpecs[:3] {
		t.Run(tc.name, func(t *testing.T) {
			cpu := newModel(t, tc.spec, tc.batch, 3)
			dm := ptxTwin(t, cpu)
			matchPasses(t, cpu, dm, passes{n: 2, seed: 30, pass: accumulating})
			matchEval(t, cpu, dm, 40, 7)
		})
	}
}
