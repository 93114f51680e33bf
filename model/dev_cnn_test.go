package model_test

import (
	"math"
	"testing"

	"github.com/ringtrain/ringtrain/model"
	"github.com/ringtrain/ringtrain/model/device"
	"github.com/ringtrain/ringtrain/model/device/ptxsim"
)

var deviceCNNSpecs = []struct {
	name  string
	spec  model.Spec
	batch int
}{
	{"mnist-shaped", model.Spec{Kind: model.KindCNN, Input: []int{1, 28, 28}, Classes: 10, Loss: model.LossXent}, 6},
	{"odd 2x13x15 mse", model.Spec{Kind: model.KindCNN, Input: []int{2, 13, 15}, Hidden: []int{9}, Classes: 4, Loss: model.LossMSE}, 5},
	{"smallest 1x12x12", model.Spec{Kind: model.KindCNN, Input: []int{1, 12, 12}, Hidden: []int{7, 5}, Classes: 3, Loss: model.LossXent}, 3},
	{"3x17x12 no hidden", model.Spec{Kind: model.KindCNN, Input: []int{3, 17, 12}, Hidden: []int{}, Classes: 6, Loss: model.LossXent}, 1},
}

// relErr is the largest |got − want| over the largest |want|.
func relErr(got, want []float32) float64 {
	scale, worst := 1e-30, 0.0
	for i, w := range want {
		scale = math.Max(scale, math.Abs(float64(w)))
		worst = math.Max(worst, math.Abs(float64(got[i])-float64(w)))
	}
	return worst / scale
}

// matchPasses runs passes training passes (SGD with step 0.5 between
// them unless accumulating) on the CPU model and the device model and
// fails t where the losses or gradients differ by more than 1e-5
// relative; it returns the largest relative gradient error seen.
func matchPasses(t *testing.T, cpu *model.Model, dm *model.DeviceModel, spec model.Spec, batch, passes int, accumulate bool) float64 {
	t.Helper()
	worst := 0.0
	for step := range passes {
		x, y := randomBatch(spec, batch, uint64(40+step))
		p := model.Pass{}
		if accumulate {
			p = model.Pass{Accumulate: step > 0, GradScale: 0.5}
		}
		lc, err := cpu.ForwardBackwardWith(x, y, p)
		if err != nil {
			t.Fatal(err)
		}
		ld, err := dm.ForwardBackwardWith(x, y, p)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(float64(lc-ld)) > 1e-5*(1+math.Abs(float64(lc))) {
			t.Fatalf("pass %d: loss %v on the device, %v on the CPU", step, ld, lc)
		}
		if i, ok := closeTo(dm.Grads(), cpu.Grads(), 1e-5); !ok {
			t.Fatalf("pass %d: gradient %d is %v on the device, %v on the CPU", step, i, dm.Grads()[i], cpu.Grads()[i])
		}
		worst = math.Max(worst, relErr(dm.Grads(), cpu.Grads()))
		if accumulate {
			continue
		}
		for i, g := range cpu.Grads() {
			cpu.Params()[i] -= 0.5 * g
			dm.Params()[i] = cpu.Params()[i]
		}
	}
	return worst
}

// matchEval compares the evaluation of n samples.
func matchEval(t *testing.T, cpu *model.Model, dm *model.DeviceModel, spec model.Spec, n int) {
	t.Helper()
	x, y := randomBatch(spec, n, 99)
	lc, cc, err := cpu.Evaluate(x, y)
	if err != nil {
		t.Fatal(err)
	}
	ld, cd, err := dm.Evaluate(x, y)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(lc-ld) > 1e-5*(1+math.Abs(lc)) || cc != cd {
		t.Fatalf("Evaluate: device (%v, %d), CPU (%v, %d)", ld, cd, lc, cc)
	}
}

// TestDeviceCNNMatchesCPU: on the emulated device the cnn's loss and
// gradients over SGD steps, and its evaluation (more than one chunk of
// 256), match the CPU model's (the fused conv kernels), for the MNIST
// shape, odd spatial sizes, the smallest input, several channels, both
// losses and batch 1.
func TestDeviceCNNMatchesCPU(t *testing.T) {
	for _, tc := range deviceCNNSpecs {
		t.Run(tc.name, func(t *testing.T) {
			cpu := newModel(t, tc.spec, tc.batch, 3)
			dm, _ := newDeviceModel(t, tc.spec, tc.batch, 3)
			worst := matchPasses(t, cpu, dm, tc.spec, tc.batch, 3, false)
			t.Logf("largest gradient error relative to the largest gradient: %.3g", worst)
			matchEval(t, cpu, dm, tc.spec, 300)
		})
	}
}

// TestDeviceCNNAccumulates: two accumulated half-scaled passes give the
// CPU model's gradient.
func TestDeviceCNNAccumulates(t *testing.T) {
	tc := deviceCNNSpecs[1]
	cpu := newModel(t, tc.spec, tc.batch, 5)
	dm, _ := newDeviceModel(t, tc.spec, tc.batch, 5)
	matchPasses(t, cpu, dm, tc.spec, tc.batch, 2, true)
}

// TestDeviceCNNHooks: with buckets, every bucket's parameters are copied
// only after its WaitParams and its gradients are final at its
// GradReady.
func TestDeviceCNNHooks(t *testing.T) {
	for _, bytes := range []int{0, 64, 1 << 10} {
		tc := deviceCNNSpecs[2]
		dm, _ := newDeviceModel(t, tc.spec, tc.batch, 1)
		dm.SetBucketBytes(bytes)
		x, y := randomBatch(tc.spec, tc.batch, 4)
		checkHooks(t, dm, x, y)
	}
}

// TestDeviceCNNOnPTX: the cnn's training pass on the project's PTX
// (interpreted by ptxsim) matches the CPU model for every shape of the
// Emu test: gradients over two passes (the second accumulating), and
// evaluation.
func TestDeviceCNNOnPTX(t *testing.T) {
	mods, err := device.Modules()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range deviceCNNSpecs {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ptxsim.New(mods...)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			cpu := newModel(t, tc.spec, tc.batch, 3)
			dm, err := model.NewDeviceModel(tc.spec, tc.batch, d)
			if err != nil {
				t.Fatal(err)
			}
			defer dm.Close()
			copy(dm.Params(), cpu.Params())
			dm.SetBucketBytes(256)
			worst := matchPasses(t, cpu, dm, tc.spec, tc.batch, 2, true)
			t.Logf("largest gradient error relative to the largest gradient: %.3g", worst)
			matchEval(t, cpu, dm, tc.spec, 7)
		})
	}
}
