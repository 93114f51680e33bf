package model_test

import (
	"errors"
	"math"
	"testing"

	"github.com/ringtrain/ringtrain/model"
	"github.com/ringtrain/ringtrain/model/device"
	"github.com/ringtrain/ringtrain/model/device/ptxsim"
)

// newDeviceModel builds a DeviceModel on a fresh emulated device with the
// parameters of InitParams(seed); at cleanup it closes both and checks
// that the model freed every device allocation.
func newDeviceModel(t *testing.T, spec model.Spec, batch int, seed uint64) (*model.DeviceModel, *device.Emu) {
	t.Helper()
	emu := device.NewEmu()
	m, err := model.NewDeviceModel(spec, batch, emu)
	if err != nil {
		t.Fatalf("NewDeviceModel(%+v, %d): %v", spec, batch, err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if n := emu.Live(); n != 0 {
			t.Errorf("%d device allocations left after Close", n)
		}
	})
	if err := model.InitParams(spec, m.Params(), seed); err != nil {
		t.Fatal(err)
	}
	return m, emu
}

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
			cpu := newModel(t, tc.spec, tc.batch, 3)
			dm, _ := newDeviceModel(t, tc.spec, tc.batch, 3)
			for step := range 3 {
				x, y := randomBatch(tc.spec, tc.batch, uint64(10+step))
				lc, err := cpu.ForwardBackward(x, y)
				if err != nil {
					t.Fatal(err)
				}
				ld, err := dm.ForwardBackwardWith(x, y, model.Pass{})
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(float64(lc-ld)) > 1e-5*(1+math.Abs(float64(lc))) {
					t.Fatalf("step %d: loss %v on the device, %v on the CPU", step, ld, lc)
				}
				if i, ok := closeTo(dm.Grads(), cpu.Grads(), 1e-5); !ok {
					t.Fatalf("step %d: gradient %d is %v on the device, %v on the CPU", step, i, dm.Grads()[i], cpu.Grads()[i])
				}
				for i, g := range cpu.Grads() { // the same update on both
					cpu.Params()[i] -= 0.5 * g
					dm.Params()[i] = cpu.Params()[i]
				}
			}
			x, y := randomBatch(tc.spec, 300, 99) // more than one eval chunk of 256
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
		})
	}
}

// TestDeviceModelAccumulates: two accumulated half-scaled passes give the
// gradient of the mean over both batches, like the CPU model.
func TestDeviceModelAccumulates(t *testing.T) {
	tc := deviceSpecs[1]
	cpu := newModel(t, tc.spec, tc.batch, 5)
	dm, _ := newDeviceModel(t, tc.spec, tc.batch, 5)
	for j := range 2 {
		x, y := randomBatch(tc.spec, tc.batch, uint64(20+j))
		p := model.Pass{Accumulate: j > 0, GradScale: 0.5}
		if _, err := cpu.ForwardBackwardWith(x, y, p); err != nil {
			t.Fatal(err)
		}
		if _, err := dm.ForwardBackwardWith(x, y, p); err != nil {
			t.Fatal(err)
		}
	}
	if i, ok := closeTo(dm.Grads(), cpu.Grads(), 1e-5); !ok {
		t.Fatalf("accumulated gradient %d: device %v, CPU %v", i, dm.Grads()[i], cpu.Grads()[i])
	}
}

// TestDeviceModelHooks: with buckets, every bucket's parameters are
// copied to the device only after its WaitParams and its gradients are
// final at its GradReady (the shared hook check of the CPU engine).
func TestDeviceModelHooks(t *testing.T) {
	for _, bytes := range []int{0, 64, 1 << 10, 16 << 10} {
		tc := deviceSpecs[3]
		dm, _ := newDeviceModel(t, tc.spec, tc.batch, 1)
		dm.SetBucketBytes(bytes)
		x, y := randomBatch(tc.spec, tc.batch, 4)
		checkHooks(t, dm, x, y)
	}
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
	dm, _ := newDeviceModel(t, tc.spec, tc.batch, 1)
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
	mods, err := device.Modules()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range deviceSpecs[:3] {
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
			for step := range 2 {
				x, y := randomBatch(tc.spec, tc.batch, uint64(30+step))
				p := model.Pass{Accumulate: step == 1, GradScale: 0.5}
				lc, err := cpu.ForwardBackwardWith(x, y, p)
				if err != nil {
					t.Fatal(err)
				}
				ld, err := dm.ForwardBackwardWith(x, y, p)
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(float64(lc-ld)) > 1e-5*(1+math.Abs(float64(lc))) {
					t.Fatalf("pass %d: loss %v on the PTX, %v on the CPU", step, ld, lc)
				}
				if i, ok := closeTo(dm.Grads(), cpu.Grads(), 1e-5); !ok {
					t.Fatalf("pass %d: gradient %d is %v on the PTX, %v on the CPU", step, i, dm.Grads()[i], cpu.Grads()[i])
				}
			}
			x, y := randomBatch(tc.spec, 40, 7)
			lc, cc, err := cpu.Evaluate(x, y)
			if err != nil {
				t.Fatal(err)
			}
			ld, cd, err := dm.Evaluate(x, y)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(lc-ld) > 1e-5*(1+math.Abs(lc)) || cc != cd {
				t.Fatalf("Evaluate: PTX (%v, %d), CPU (%v, %d)", ld, cd, lc, cc)
			}
		})
	}
}
