package optim

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/internal/testutil"
)

// TestAgainstReference runs every optimizer and the torch.optim
// transcription (reference_test.go) side by side for driftSteps steps; the
// parameters must stay within driftTolerance (see drift_test.go).
func TestAgainstReference(t *testing.T) {
	for _, tc := range specCases {
		t.Run(tc.name, func(t *testing.T) {
			ref := newRef(tc.spec, driftN)
			worst := driftAgainst(t, tc.spec, ref.step)
			t.Logf("worst relative error %.3g (tolerance %.3g)", worst, driftTolerance)
		})
	}
}

// TestAdamWZeroDecayIsAdam: "adamw" with WeightDecay 0 is exactly "adam".
func TestAdamWZeroDecayIsAdam(t *testing.T) {
	const n = 100
	a, w := mustNew(t, Spec{Name: "adam"}, n), mustNew(t, Spec{Name: "adamw"}, n)
	pa, pw := initParams(n, 1), initParams(n, 1)
	pr := newProblem(n, 2)
	g := make([]float32, n)
	noise := make([]float64, n)
	for range 50 {
		pr.grads(pa, g, noise)
		a.Step(pa, g, 0.01)
		w.Step(pw, g, 0.01)
	}
	testutil.RequireBitsEqual(t, "params", pw, pa)
}

// TestSharding: two optimizers over [0:k) and [k:n) give bitwise the same
// parameters and state as one optimizer over [0:n).
func TestSharding(t *testing.T) {
	const n, steps = 1001, 40
	for _, tc := range specCases {
		for _, k := range []int{0, 1, 500, 1000, 1001} {
			whole := mustNew(t, tc.spec, n)
			lo, hi := mustNew(t, tc.spec, k), mustNew(t, tc.spec, n-k)
			p, ps := initParams(n, 3), initParams(n, 3)
			pr := newProblem(n, 4)
			g := make([]float32, n)
			noise := make([]float64, n)
			rng := rand.New(rand.NewPCG(5, 5))
			for s := range steps {
				for i := range noise {
					noise[i] = rng.NormFloat64()
				}
				pr.grads(p, g, noise)
				lr := float32(0.01 + 0.001*float64(s))
				whole.Step(p, g, lr)
				lo.Step(ps[:k], g[:k], lr)
				hi.Step(ps[k:], g[k:], lr)
			}
			testutil.RequireBitsEqual(t, tc.name+" params", ps, p)
			ws, ls, hs := whole.State(), lo.State(), hi.State()
			for j := range ws {
				joined := append(append([]float32(nil), ls[j].Data...), hs[j].Data...)
				testutil.RequireBitsEqual(t, tc.name+" state "+ws[j].Name, joined, ws[j].Data)
			}
		}
	}
}

// TestStateRoundTrip: saving state after 10 steps and restoring it into a
// fresh optimizer continues bitwise identically.
func TestStateRoundTrip(t *testing.T) {
	const n = 300
	for _, tc := range specCases {
		t.Run(tc.name, func(t *testing.T) {
			pr := newProblem(n, 10)
			g := make([]float32, n)
			noise := make([]float64, n)
			run := func(o Optimizer, p []float32, from, to int) {
				for s := from; s < to; s++ {
					rng := rand.New(rand.NewPCG(11, uint64(s)))
					for i := range noise {
						noise[i] = rng.NormFloat64()
					}
					pr.grads(p, g, noise)
					o.Step(p, g, 0.02)
				}
			}
			a := mustNew(t, tc.spec, n)
			p := initParams(n, 12)
			run(a, p, 0, 10)

			savedP, savedState, savedSteps := append([]float32(nil), p...), cloneState(a), a.Steps()
			b := mustNew(t, tc.spec, n)
			for j, s := range b.State() {
				if copy(s.Data, savedState[j]) != n {
					t.Fatalf("state %s has length %d, want %d", s.Name, len(s.Data), n)
				}
			}
			b.SetSteps(savedSteps)
			pb := savedP

			run(a, p, 10, 30)
			run(b, pb, 10, 30)
			testutil.RequireBitsEqual(t, "params", pb, p)
			as, bs := a.State(), b.State()
			for j := range as {
				testutil.RequireBitsEqual(t, "state "+as[j].Name, bs[j].Data, as[j].Data)
			}
			if a.Steps() != 30 || b.Steps() != 30 {
				t.Errorf("Steps = %d, %d; want 30", a.Steps(), b.Steps())
			}
		})
	}
}

// TestStepAllocs: Step allocates nothing.
func TestStepAllocs(t *testing.T) {
	const n = 1024
	for _, tc := range specCases {
		o := mustNew(t, tc.spec, n)
		p, g := initParams(n, 1), initParams(n, 2)
		if a := testing.AllocsPerRun(50, func() { o.Step(p, g, 1e-3) }); a != 0 {
			t.Errorf("%s: Step allocates %v times per call, want 0", tc.name, a)
		}
	}
}

func TestStateNames(t *testing.T) {
	tests := []struct {
		spec Spec
		want string
	}{
		{Spec{Name: "sgd"}, ""},
		{Spec{Name: "sgd", Momentum: 0.5}, "momentum"},
		{Spec{Name: "adam"}, "m,v"},
		{Spec{Name: "adamw", WeightDecay: 0.1}, "m,v"},
		{Spec{Name: "adagrad"}, "sum_sq"},
		{Spec{Name: "rmsprop"}, "sq_avg"},
	}
	for _, tt := range tests {
		o := mustNew(t, tt.spec, 7)
		var names []string
		for _, s := range o.State() {
			names = append(names, s.Name)
			if len(s.Data) != 7 {
				t.Errorf("%+v: state %s has length %d, want 7", tt.spec, s.Name, len(s.Data))
			}
		}
		if got := strings.Join(names, ","); got != tt.want {
			t.Errorf("%+v: state names %q, want %q", tt.spec, got, tt.want)
		}
		if o.Len() != 7 {
			t.Errorf("%+v: Len() = %d, want 7", tt.spec, o.Len())
		}
	}
}

func TestSetStepsNegative(t *testing.T) {
	o := mustNew(t, Spec{Name: "adam"}, 1)
	o.SetSteps(-5)
	if o.Steps() != 0 {
		t.Errorf("Steps() = %d after SetSteps(-5), want 0", o.Steps())
	}
	p, g := []float32{1}, []float32{1}
	o.Step(p, g, 0.1)
	if math.IsNaN(float64(p[0])) || math.IsInf(float64(p[0]), 0) {
		t.Errorf("p = %v", p[0])
	}
}

func TestEmptyShard(t *testing.T) {
	for _, tc := range specCases {
		o := mustNew(t, tc.spec, 0)
		o.Step(nil, nil, 0.1)
		o.Step([]float32{}, []float32{}, 0.1)
		if o.Steps() != 2 {
			t.Errorf("%s: Steps() = %d, want 2", tc.name, o.Steps())
		}
	}
}

func TestStepLengthMismatchPanicsWithLengths(t *testing.T) {
	o := mustNew(t, Spec{Name: "sgd"}, 4)
	defer func() {
		r := recover()
		msg, _ := r.(string)
		if !strings.Contains(msg, "len(params) 3") || !strings.Contains(msg, "want both 4") {
			t.Errorf("panic %v: want the lengths named", r)
		}
	}()
	o.Step(make([]float32, 3), make([]float32, 4), 0.1)
}
