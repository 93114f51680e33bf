package model_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/ringtrain/ringtrain/model"
	"github.com/ringtrain/ringtrain/model/device"
	"github.com/ringtrain/ringtrain/model/device/ptxsim"
)

// The helpers of the tests that compare model.DeviceModel with the CPU
// model.Model (dev*_test.go).

// devBatch returns n samples for spec: token ids with a label per
// position for a sequence model, randomBatch's samples otherwise.
func devBatch(spec model.Spec, n int, seed uint64) ([]float32, []int32) {
	if spec.Sequence() {
		return tokenBatch(spec, n, seed)
	}
	return randomBatch(spec, n, seed)
}

// relErr is the largest |got − want| over the largest |want| (closeTo's
// measure).
func relErr(got, want []float32) float64 {
	scale, worst := 1e-30, 0.0
	for i, w := range want {
		scale = math.Max(scale, math.Abs(float64(w)))
		worst = math.Max(worst, math.Abs(float64(got[i])-float64(w)))
	}
	return worst / scale
}

// matchPass runs the pass p on x, y on both engines and fails t, naming
// the pass by what, where the losses differ by more than 1e-5·(1+|loss|)
// or the gradients by more than 1e-5 of the largest CPU gradient; it
// returns the gradients' relErr.
func matchPass(t *testing.T, what string, cpu, dev model.Engine, x []float32, y []int32, p model.Pass) float64 {
	t.Helper()
	lc, err := cpu.ForwardBackwardWith(x, y, p)
	if err != nil {
		t.Fatal(err)
	}
	ld, err := dev.ForwardBackwardWith(x, y, p)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(lc-ld)) > 1e-5*(1+math.Abs(float64(lc))) {
		t.Fatalf("%s: loss %v on the device, %v on the CPU", what, ld, lc)
	}
	if i, ok := closeTo(dev.Grads(), cpu.Grads(), 1e-5); !ok {
		t.Fatalf("%s: gradient %d is %v on the device, %v on the CPU", what, i, dev.Grads()[i], cpu.Grads()[i])
	}
	return relErr(dev.Grads(), cpu.Grads())
}

// passes is a run of training passes compared on both engines.
type passes struct {
	n    int                    // how many passes
	seed uint64                 // pass i trains on devBatch(spec, batch, seed+i)
	pass func(i int) model.Pass // pass i's options; nil: Pass{}
	sgd  bool                   // after each pass an SGD step (sgdStep)
}

// accumulating is pass i of a run that accumulates from its second pass
// on, every pass scaled by 0.5.
func accumulating(i int) model.Pass { return model.Pass{Accumulate: i > 0, GradScale: 0.5} }

// matchPasses runs r on both engines (the CPU engine's spec and batch),
// comparing every pass with matchPass, and returns the largest relErr of
// the gradients.
func matchPasses(t *testing.T, cpu, dev model.Engine, r passes) float64 {
	t.Helper()
	spec, batch := cpu.Spec(), cpu.Batch()
	worst := 0.0
	for i := range r.n {
		x, y := devBatch(spec, batch, r.seed+uint64(i))
		p := model.Pass{}
		if r.pass != nil {
			p = r.pass(i)
		}
		worst = math.Max(worst, matchPass(t, fmt.Sprintf("pass %d", i), cpu, dev, x, y, p))
		if r.sgd {
			sgdStep(cpu, dev)
		}
	}
	return worst
}

// sgdStep takes an SGD step of 0.5 along the CPU engine's gradients and
// gives the device engine the CPU's new parameters (the same update on
// both).
func sgdStep(cpu, dev model.Engine) {
	for i, g := range cpu.Grads() {
		cpu.Params()[i] -= 0.5 * g
		dev.Params()[i] = cpu.Params()[i]
	}
}

// matchEval compares the evaluation of devBatch(spec, n, seed) on both
// engines: the loss sums within 1e-5·(1+|sum|), the counts of correct
// predictions equal.
func matchEval(t *testing.T, cpu, dev model.Engine, n int, seed uint64) {
	t.Helper()
	x, y := devBatch(cpu.Spec(), n, seed)
	lc, cc, err := cpu.Evaluate(x, y)
	if err != nil {
		t.Fatal(err)
	}
	ld, cd, err := dev.Evaluate(x, y)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(lc-ld) > 1e-5*(1+math.Abs(lc)) || cc != cd {
		t.Fatalf("Evaluate of %d samples: device (%v, %d), CPU (%v, %d)", n, ld, cd, lc, cc)
	}
}

// liveDevice is a device that counts its allocations.
type liveDevice interface {
	device.Device
	Live() int
}

// deviceModelOn builds a DeviceModel on d; at cleanup it closes the
// model and checks that the model freed every allocation on d.
func deviceModelOn(t *testing.T, d liveDevice, spec model.Spec, batch int) *model.DeviceModel {
	t.Helper()
	m, err := model.NewDeviceModel(spec, batch, d)
	if err != nil {
		t.Fatalf("NewDeviceModel(%+v, %d): %v", spec, batch, err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if n := d.Live(); n != 0 {
			t.Errorf("%d device allocations left after Close", n)
		}
	})
	return m
}

// newDeviceModel builds a DeviceModel on a fresh emulated device with
// the parameters of InitParams(seed), closed at cleanup (deviceModelOn).
func newDeviceModel(t *testing.T, spec model.Spec, batch int, seed uint64) *model.DeviceModel {
	t.Helper()
	m := deviceModelOn(t, device.NewEmu(), spec, batch)
	if err := model.InitParams(spec, m.Params(), seed); err != nil {
		t.Fatal(err)
	}
	return m
}

// emuTwins returns the CPU model and a DeviceModel on a fresh emulated
// device of spec and batch, both with the parameters of InitParams(seed).
func emuTwins(t *testing.T, spec model.Spec, batch int, seed uint64) (*model.Model, *model.DeviceModel) {
	t.Helper()
	return newModel(t, spec, batch, seed), newDeviceModel(t, spec, batch, seed)
}

// deviceHooks runs checkHooks on devBatch(spec, batch, 4) with a
// DeviceModel of spec and batch on the emulated device, one for each
// bucket size in bucketBytes.
func deviceHooks(t *testing.T, spec model.Spec, batch int, bucketBytes ...int) {
	t.Helper()
	for _, bytes := range bucketBytes {
		dm := newDeviceModel(t, spec, batch, 1)
		dm.SetBucketBytes(bytes)
		x, y := devBatch(spec, batch, 4)
		checkHooks(t, dm, x, y)
	}
}

// ptxsimDevice is a ptxsim device loaded with the project's PTX modules,
// closed at cleanup.
func ptxsimDevice(t *testing.T) *ptxsim.Device {
	t.Helper()
	mods, err := device.Modules()
	if err != nil {
		t.Fatal(err)
	}
	d, err := ptxsim.New(mods...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("ptxsim Close: %v", err)
		}
	})
	return d
}

// ptxTwin builds a DeviceModel of cpu's spec and batch on a fresh
// ptxsim device (the project's PTX kernels interpreted as a GPU would
// run them) with cpu's current parameters and buckets of 256 bytes.
func ptxTwin(t *testing.T, cpu model.Engine) *model.DeviceModel {
	t.Helper()
	dm := deviceModelOn(t, ptxsimDevice(t), cpu.Spec(), cpu.Batch())
	copy(dm.Params(), cpu.Params())
	dm.SetBucketBytes(256)
	return dm
}
