package model_test

import (
	"errors"
	"math"
	"testing"

	"github.com/ringtrain/ringtrain/model"
	"github.com/ringtrain/ringtrain/model/device"
	"github.com/ringtrain/ringtrain/model/device/ptxsim"
)

// rnnDeviceSpec is the recurrent model of the device tests: context 6,
// Embed 8, two layers of 12 and 10, vocab 9.
func rnnDeviceSpec(kind string) model.Spec {
	return model.Spec{Kind: kind, Input: []int{6}, Classes: 9, Embed: 8, Hidden: []int{12, 10}, Loss: model.LossXent}
}

// maxRelErr is max |got − want| over max |want| (closeTo's measure).
func maxRelErr(got, want []float32) float64 {
	scale, d := 1e-30, 0.0
	for i, w := range want {
		scale = math.Max(scale, math.Abs(float64(w)))
		d = math.Max(d, math.Abs(float64(got[i])-float64(w)))
	}
	return d / scale
}

// TestDeviceRNNMatchesCPU: lstm and gru on the emulated device match the
// CPU model: loss and gradients over three SGD steps, then evaluation
// over more samples than one eval chunk.
func TestDeviceRNNMatchesCPU(t *testing.T) {
	for _, kind := range []string{model.KindLSTM, model.KindGRU} {
		t.Run(kind, func(t *testing.T) {
			spec, batch := rnnDeviceSpec(kind), 5
			cpu := newModel(t, spec, batch, 3)
			dm, _ := newDeviceModel(t, spec, batch, 3)
			worst := 0.0
			for step := range 3 {
				x, y := tokenBatch(spec, batch, uint64(10+step))
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
				worst = math.Max(worst, maxRelErr(dm.Grads(), cpu.Grads()))
				for i, g := range cpu.Grads() {
					cpu.Params()[i] -= 0.5 * g
					dm.Params()[i] = cpu.Params()[i]
				}
			}
			t.Logf("%s: largest gradient difference %.3g of the largest gradient", kind, worst)
			x, y := tokenBatch(spec, 300, 99)
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

// TestDeviceRNNAccumulates: two accumulated half-scaled passes give the
// CPU's accumulated gradient.
func TestDeviceRNNAccumulates(t *testing.T) {
	for _, kind := range []string{model.KindLSTM, model.KindGRU} {
		t.Run(kind, func(t *testing.T) {
			spec, batch := rnnDeviceSpec(kind), 4
			cpu := newModel(t, spec, batch, 5)
			dm, _ := newDeviceModel(t, spec, batch, 5)
			for j := range 2 {
				x, y := tokenBatch(spec, batch, uint64(20+j))
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
		})
	}
}

// TestDeviceRNNHooks: with buckets, each bucket's parameters reach the
// device after its WaitParams and its gradients are final at its
// GradReady.
func TestDeviceRNNHooks(t *testing.T) {
	for _, kind := range []string{model.KindLSTM, model.KindGRU} {
		for _, bytes := range []int{0, 64, 1 << 10} {
			spec := rnnDeviceSpec(kind)
			dm, _ := newDeviceModel(t, spec, 3, 1)
			dm.SetBucketBytes(bytes)
			x, y := tokenBatch(spec, 3, 4)
			checkHooks(t, dm, x, y)
		}
	}
}

// TestDeviceRNNOnPTX: lstm and gru on the project's PTX kernels
// (interpreted by ptxsim) match the CPU model: loss and gradients of a
// pass and an accumulated one with buckets, and evaluation.
func TestDeviceRNNOnPTX(t *testing.T) {
	mods, err := device.Modules()
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{model.KindLSTM, model.KindGRU} {
		t.Run(kind, func(t *testing.T) {
			spec, batch := rnnDeviceSpec(kind), 4
			d, err := ptxsim.New(mods...)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			cpu := newModel(t, spec, batch, 3)
			dm, err := model.NewDeviceModel(spec, batch, d)
			if err != nil {
				t.Fatal(err)
			}
			defer dm.Close()
			copy(dm.Params(), cpu.Params())
			dm.SetBucketBytes(256)
			worst := 0.0
			for step := range 2 {
				x, y := tokenBatch(spec, batch, uint64(30+step))
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
				worst = math.Max(worst, maxRelErr(dm.Grads(), cpu.Grads()))
			}
			t.Logf("%s on ptxsim: largest gradient difference %.3g of the largest gradient", kind, worst)
			x, y := tokenBatch(spec, 20, 7)
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

// TestDeviceRNNRefusesBadTokens: token ids outside the vocabulary and
// labels per position are checked before anything reaches the device.
func TestDeviceRNNRefusesBadTokens(t *testing.T) {
	spec := rnnDeviceSpec(model.KindLSTM)
	dm, _ := newDeviceModel(t, spec, 2, 1)
	for _, tc := range []struct {
		name string
		edit func(x []float32, y []int32) ([]float32, []int32)
	}{
		{"token = vocab", func(x []float32, y []int32) ([]float32, []int32) { x[3] = float32(spec.Classes); return x, y }},
		{"negative token", func(x []float32, y []int32) ([]float32, []int32) { x[0] = -1; return x, y }},
		{"label = vocab", func(x []float32, y []int32) ([]float32, []int32) { y[5] = int32(spec.Classes); return x, y }},
		{"a label per sample", func(x []float32, y []int32) ([]float32, []int32) { return x, y[:2] }},
	} {
		x, y := tc.edit(tokenBatch(spec, 2, 3))
		if _, err := dm.ForwardBackwardWith(x, y, model.Pass{}); !errors.Is(err, model.ErrInput) {
			t.Errorf("%s: %v, want ErrInput", tc.name, err)
		}
	}
}
