package model_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ringtrain/ringtrain/model"
	"github.com/ringtrain/ringtrain/model/device"
	"github.com/ringtrain/ringtrain/model/device/ptxsim"
	"github.com/ringtrain/ringtrain/optim"
)

// devOptimSpecs are the optimizers the device optimizer is checked on.
var devOptimSpecs = []struct {
	name string
	spec optim.Spec
}{
	{"sgd_l2", optim.Spec{Name: "sgd", WeightDecay: 1e-2}},
	{"sgd_momentum_l2", optim.Spec{Name: "sgd", Momentum: 0.9, WeightDecay: 1e-2}},
	{"sgd_nesterov_l2", optim.Spec{Name: "sgd", Momentum: 0.9, Nesterov: true, WeightDecay: 1e-3}},
	{"adam", optim.Spec{Name: "adam"}},
	{"adam_l2", optim.Spec{Name: "adam", Beta1: 0.8, Beta2: 0.95, Eps: 1e-6, WeightDecay: 1e-2}},
	{"adamw", optim.Spec{Name: "adamw", WeightDecay: 0.1}},
	{"adagrad_l2", optim.Spec{Name: "adagrad", WeightDecay: 1e-3}},
	{"rmsprop_l2", optim.Spec{Name: "rmsprop", Alpha: 0.9, WeightDecay: 1e-3}},
}

// The shard of devOptimModel's parameters the tests update, and its runs
// exempt from weight decay (shard-relative).
const devOptimLo, devOptimHi = 100, 1400

var devOptimNoDecay = [][2]int{{0, 10}, {500, 517}, {1200, 1300}}

// devOptimModel is a DeviceModel on a fresh emulated device (1563
// parameters).
func devOptimModel(t *testing.T) (*model.DeviceModel, *device.Emu) {
	t.Helper()
	emu := device.NewEmu()
	m := deviceModelOn(t, emu, deviceSpecs[1].spec, deviceSpecs[1].batch)
	if err := model.InitParams(deviceSpecs[1].spec, m.Params(), 3); err != nil {
		t.Fatal(err)
	}
	return m, emu
}

// newDevOptim builds the device optimizer of spec over [lo, hi) of m, with
// devOptimNoDecay, closed at cleanup (before the model: the model's
// cleanup checks that no device allocation is left).
func newDevOptim(t *testing.T, m *model.DeviceModel, spec optim.Spec, lo, hi int) *model.DeviceOptimizer {
	t.Helper()
	o, err := model.NewDeviceOptimizer(m, spec, lo, hi)
	if err != nil {
		t.Fatalf("NewDeviceOptimizer(%+v, %d, %d): %v", spec, lo, hi, err)
	}
	t.Cleanup(func() {
		if err := o.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := o.SetNoDecay(devOptimNoDecay); err != nil {
		t.Fatal(err)
	}
	return o
}

func newHostOptim(t *testing.T, spec optim.Spec, n int) optim.Optimizer {
	t.Helper()
	o, err := optim.New(spec, n)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.SetNoDecay(devOptimNoDecay); err != nil {
		t.Fatal(err)
	}
	return o
}

// stepGrads are step's gradients: normal, with exact zeros.
func stepGrads(n, step int) []float32 {
	r := rand.New(rand.NewPCG(uint64(step), 77))
	g := make([]float32, n)
	for i := range g {
		if i%31 != 0 {
			g[i] = float32(r.NormFloat64())
		}
	}
	return g
}

// stepLR is step's learning rate (changing, as a schedule's).
func stepLR(step int) float32 { return 0.01 / float32(1+step%4) }

// maxRel is the largest |a-b| / max(|a|, |b|) (0 where both are equal;
// +Inf where one is NaN and the other not).
func maxRel(a, b []float32) float64 {
	worst := 0.0
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		switch {
		case x == y || (x != x && y != y):
		case x != x || y != y:
			return math.Inf(1)
		default:
			worst = max(worst, math.Abs(x-y)/max(math.Abs(x), math.Abs(y)))
		}
	}
	return worst
}

// sameState fails t unless a's and b's states have the same names in the
// same order and values within tol relative; it returns the largest
// relative difference.
func sameState(t *testing.T, what string, a, b []optim.State, tol float64) float64 {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d state slices, want %d", what, len(a), len(b))
	}
	worst := 0.0
	for i := range a {
		if a[i].Name != b[i].Name {
			t.Fatalf("%s: state %d is %q, want %q", what, i, a[i].Name, b[i].Name)
		}
		d := maxRel(a[i].Data, b[i].Data)
		if d > tol {
			t.Fatalf("%s: state %s differs by %.3g relative (> %.0e)", what, a[i].Name, d, tol)
		}
		worst = max(worst, d)
	}
	return worst
}

// TestDeviceOptimizerMatchesHost: for every optimizer, 12 steps on the
// emulated device leave the shard's parameters and state within 1e-6
// relative of optim.New's on the host (they are bitwise equal), touch no
// parameter outside the shard, and count the steps.
func TestDeviceOptimizerMatchesHost(t *testing.T) {
	const steps = 12
	n := devOptimHi - devOptimLo
	for _, tc := range devOptimSpecs {
		t.Run(tc.name, func(t *testing.T) {
			dm, _ := devOptimModel(t)
			dev := newDevOptim(t, dm, tc.spec, devOptimLo, devOptimHi)
			host := newHostOptim(t, tc.spec, n)
			before := slices.Clone(dm.Params())
			hp := slices.Clone(dm.Params()[devOptimLo:devOptimHi])
			worst := 0.0
			for step := range steps {
				g := stepGrads(n, step)
				host.Step(hp, slices.Clone(g), stepLR(step))
				dev.Step(dm.Params()[devOptimLo:devOptimHi], g, stepLR(step))
				if err := dev.Err(); err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				d := maxRel(dm.Params()[devOptimLo:devOptimHi], hp)
				if d > 1e-6 {
					t.Fatalf("step %d: parameters differ by %.3g relative", step, d)
				}
				worst = max(worst, d)
				if step%5 == 4 { // reading the state mid-run changes nothing
					worst = max(worst, sameState(t, "state", dev.State(), host.State(), 1e-6))
				}
			}
			worst = max(worst, sameState(t, "state", dev.State(), host.State(), 1e-6))
			t.Logf("largest relative difference to the host: %.3g", worst)
			if dev.Steps() != steps || dev.Len() != n {
				t.Fatalf("Steps %d, Len %d: want %d, %d", dev.Steps(), dev.Len(), steps, n)
			}
			if !slices.Equal(dm.Params()[:devOptimLo], before[:devOptimLo]) || !slices.Equal(dm.Params()[devOptimHi:], before[devOptimHi:]) {
				t.Fatal("parameters outside the shard changed")
			}
			if maxRel(dm.Params()[devOptimLo:devOptimHi], before[devOptimLo:devOptimHi]) < 1e-4 {
				t.Fatal("the steps barely moved the parameters")
			}
		})
	}
}

// optState is a saved optimizer state: the slices and the step count.
type optState struct {
	data  [][]float32
	steps int64
}

func save(o optim.Optimizer) optState {
	s := optState{steps: o.Steps()}
	for _, st := range o.State() {
		s.data = append(s.data, slices.Clone(st.Data))
	}
	return s
}

func restore(t *testing.T, o optim.Optimizer, s optState) {
	t.Helper()
	sts := o.State()
	if len(sts) != len(s.data) {
		t.Fatalf("restore: %d state slices, saved %d", len(sts), len(s.data))
	}
	for i, st := range sts {
		copy(st.Data, s.data[i])
	}
	o.SetSteps(s.steps)
}

// TestDeviceOptimizerRestores: a checkpoint taken through State mid-run
// and restored through State and SetSteps continues the same trajectory,
// bitwise, from the device into a fresh device optimizer (on another
// device) and into the host's optimizer, and from the host's optimizer
// into a device optimizer; the optimizer the state was read from goes on
// unchanged too.
func TestDeviceOptimizerRestores(t *testing.T) {
	const at, steps = 5, 11
	n := devOptimHi - devOptimLo
	for _, tc := range devOptimSpecs {
		t.Run(tc.name, func(t *testing.T) {
			dmA, _ := devOptimModel(t)
			dmB, _ := devOptimModel(t)
			dmD, _ := devOptimModel(t)
			a := newDevOptim(t, dmA, tc.spec, devOptimLo, devOptimHi)        // uninterrupted, read at step at
			b := newDevOptim(t, dmB, tc.spec, devOptimLo, devOptimHi)        // restored from a
			d := newDevOptim(t, dmD, tc.spec, devOptimLo, devOptimHi)        // restored from h
			h, c := newHostOptim(t, tc.spec, n), newHostOptim(t, tc.spec, n) // uninterrupted; restored from a
			pa := dmA.Params()[devOptimLo:devOptimHi]
			ph := slices.Clone(pa)
			var pb, pc, pd []float32
			for step := range steps {
				if step == at {
					sa, sh := save(a), save(h)
					restore(t, b, sa)
					restore(t, c, sa)
					restore(t, d, sh)
					pb, pd = dmB.Params()[devOptimLo:devOptimHi], dmD.Params()[devOptimLo:devOptimHi]
					copy(pb, pa)
					copy(pd, ph)
					pc = slices.Clone(pa)
				}
				g := stepGrads(n, step)
				a.Step(pa, slices.Clone(g), stepLR(step))
				h.Step(ph, slices.Clone(g), stepLR(step))
				if step >= at {
					b.Step(pb, slices.Clone(g), stepLR(step))
					c.Step(pc, slices.Clone(g), stepLR(step))
					d.Step(pd, slices.Clone(g), stepLR(step))
				}
			}
			for _, o := range []*model.DeviceOptimizer{a, b, d} {
				if err := o.Err(); err != nil {
					t.Fatal(err)
				}
			}
			for _, r := range []struct {
				name string
				p    []float32
				o    optim.Optimizer
			}{{"host", ph, h}, {"device restored from the device", pb, b}, {"host restored from the device", pc, c}, {"device restored from the host", pd, d}} {
				if dd := maxRel(r.p, pa); dd != 0 {
					t.Fatalf("%s: parameters differ by %.3g relative from the uninterrupted device run", r.name, dd)
				}
				sameState(t, r.name, r.o.State(), a.State(), 0)
				if r.o.Steps() != steps {
					t.Fatalf("%s: Steps %d, want %d", r.name, r.o.Steps(), steps)
				}
			}
		})
	}
}

// TestDeviceOptimizerOnPTX: the interpreted PTX kernels (AdamW and
// Nesterov SGD, with runs exempt from decay) give the host's update.
func TestDeviceOptimizerOnPTX(t *testing.T) {
	mods, err := device.Modules()
	if err != nil {
		t.Fatal(err)
	}
	spec := deviceSpecs[0] // 24 parameters
	for _, tc := range []optim.Spec{devOptimSpecs[5].spec, devOptimSpecs[2].spec} {
		t.Run(tc.Name, func(t *testing.T) {
			d, err := ptxsim.New(mods...)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			dm, err := model.NewDeviceModel(spec.spec, spec.batch, d)
			if err != nil {
				t.Fatal(err)
			}
			defer dm.Close()
			if err := model.InitParams(spec.spec, dm.Params(), 5); err != nil {
				t.Fatal(err)
			}
			const lo, hi = 3, 23
			o, err := model.NewDeviceOptimizer(dm, tc, lo, hi)
			if err != nil {
				t.Fatal(err)
			}
			defer o.Close()
			host, err := optim.New(tc, hi-lo)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range []optim.Optimizer{o, host} {
				if err := x.SetNoDecay([][2]int{{2, 5}, {19, 20}}); err != nil {
					t.Fatal(err)
				}
			}
			hp := slices.Clone(dm.Params()[lo:hi])
			worst := 0.0
			for step := range 4 {
				g := stepGrads(hi-lo, step)
				host.Step(hp, slices.Clone(g), stepLR(step))
				o.Step(dm.Params()[lo:hi], g, stepLR(step))
				if err := o.Err(); err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				worst = max(worst, maxRel(dm.Params()[lo:hi], hp))
			}
			worst = max(worst, sameState(t, "state", o.State(), host.State(), 1e-6))
			t.Logf("largest relative difference to the host: %.3g", worst)
			if worst > 1e-6 {
				t.Fatalf("parameters differ by %.3g relative", worst)
			}
		})
	}
}

// TestDeviceOptimizerErrors: bad shards and specs are refused; an empty
// shard counts steps; Step after the model's Close reports ErrClosed and
// leaves params alone; mismatched lengths panic; Close frees every
// buffer and keeps the state readable.
func TestDeviceOptimizerErrors(t *testing.T) {
	dm, emu := devOptimModel(t)
	adam := optim.Spec{Name: "adam"}
	for _, tc := range []struct {
		lo, hi int
		spec   optim.Spec
	}{{-1, 3, adam}, {5, 4, adam}, {0, len(dm.Params()) + 1, adam}, {0, 3, optim.Spec{Name: "lion"}}} {
		if _, err := model.NewDeviceOptimizer(dm, tc.spec, tc.lo, tc.hi); err == nil {
			t.Errorf("NewDeviceOptimizer(%+v, %d, %d): no error", tc.spec, tc.lo, tc.hi)
		}
	}
	live := emu.Live()
	empty, err := model.NewDeviceOptimizer(dm, adam, 7, 7)
	if err != nil {
		t.Fatal(err)
	}
	empty.Step(nil, nil, 0.1)
	if empty.Err() != nil || empty.Steps() != 1 || len(empty.State()) != 2 {
		t.Fatalf("empty shard: err %v, steps %d", empty.Err(), empty.Steps())
	}
	o, err := model.NewDeviceOptimizer(dm, adam, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if r := recover(); r == nil {
				t.Error("Step with 9 parameters for 10: no panic")
			}
		}()
		o.Step(make([]float32, 9), make([]float32, 10), 0.1)
	}()
	p := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	o.Step(p, stepGrads(10, 1), 0.1)
	if o.Err() != nil {
		t.Fatal(o.Err())
	}
	want := save(o)
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if n := emu.Live(); n != live {
		t.Fatalf("%d device allocations after Close, %d before the optimizer", n, live)
	}
	got := save(o)
	for i := range want.data {
		if !slices.Equal(got.data[i], want.data[i]) {
			t.Fatal("the state changed at Close")
		}
	}
	o.Step(p, p, 0.1)
	if !errors.Is(o.Err(), model.ErrClosed) || o.Steps() != 1 {
		t.Fatalf("Step after Close: err %v, steps %d", o.Err(), o.Steps())
	}
	o2, err := model.NewDeviceOptimizer(dm, adam, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer o2.Close()
	if err := dm.Close(); err != nil {
		t.Fatal(err)
	}
	q := slices.Clone(p)
	o2.Step(q, p, 0.1)
	if !errors.Is(o2.Err(), model.ErrClosed) || !slices.Equal(q, p) || o2.Steps() != 0 {
		t.Fatalf("Step after the model's Close: err %v, steps %d", o2.Err(), o2.Steps())
	}
}
