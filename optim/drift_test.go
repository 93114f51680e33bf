package optim

import (
	"math"
	"math/rand/v2"
	"testing"
)

// How far the float32 arithmetic may drift from the float64 references
// (f64Ref, the package's previous loops, and refOptimizer, the torch.optim
// transcription; both round only when storing).
//
// Unit roundoff u = 2^-24 (float32). One step of the float32 loops rounds
// 2 to 8 intermediate values per element, each within u of an intermediate
// that is at most a few times |p| or |update|, where the float64 loops
// round once, on the store. So:
//
//   - One step from identical float32 inputs (TestOneStepFloat64): every
//     stored value (parameter and state) is within 16u*(|old| + |new-old|)
//     of the float64 loop's, old being the value before the step and new
//     the float64 loop's result. The worst seen over 12 configurations x
//     300 steps x 257 elements is 8.2u (sgd nesterov with weight decay).
//     A per-step scalar rounded differently fails this: 1-Beta2 formed in
//     float32 is 1.3e-5 (about 200u) off and moves Adam's first step by 26u.
//   - After N steps each on its own trajectory (TestAgainstFloat64,
//     TestAgainstReference), driftTolerance = 2*N*u relative to
//     max(|p|, 1): as if every step left two roundings of the parameter
//     that never cancel. State errors decay (m, v, momentum, sq_avg) or add
//     up (sum_sq) and reach the parameters only through the update, which
//     is lr-sized. For N = 300 that is 3.6e-5; the worst seen is 1.1e-5
//     (rmsprop with weight decay, at an element whose gradient is exactly 0
//     so that only the L2 term drives it: RMSprop then takes
//     normalized steps of about lr around 0, which amplify any difference),
//     the others 2e-7 to 4.1e-6 (logged by the tests).
const (
	unitRoundoff   = 0x1p-24 // u, float32
	driftN         = 257
	driftSteps     = 300
	driftTolerance = 2 * driftSteps * unitRoundoff
)

// driftAgainst runs a fresh optimizer for spec and a reference step
// function side by side for driftSteps steps of a noisy quadratic with a
// cosine learning-rate schedule and returns the worst relative error of a
// parameter, failing the test above driftTolerance. Both get the same
// gradients (computed at the optimizer's parameters), so that the chaotic
// dynamics of adaptive methods near an optimum cannot amplify float32
// rounding into a difference that says nothing about the update formula.
func driftAgainst(t *testing.T, spec Spec, refStep func(p, g []float32, lr float32)) float64 {
	t.Helper()
	const n, steps = driftN, driftSteps
	sched := Schedule{Kind: "cosine", Base: 0.05, WarmupSteps: 10, TotalSteps: steps - 10, Min: 0.001}
	o := mustNew(t, spec, n)
	pr := newProblem(n, 7)
	p, pRef := initParams(n, 8), initParams(n, 8)
	g, gRef := make([]float32, n), make([]float32, n)
	noise := make([]float64, n)
	rng := rand.New(rand.NewPCG(9, 9))
	worst := 0.0
	for s := range steps {
		for i := range noise {
			noise[i] = 0.1 * rng.NormFloat64()
		}
		pr.grads(p, g, noise)
		copy(gRef, g)
		lr := sched.At(s)
		o.Step(p, g, lr)
		refStep(pRef, gRef, lr)
		for i := range p {
			got, want := float64(p[i]), float64(pRef[i])
			if math.IsNaN(got) || math.IsInf(got, 0) {
				t.Fatalf("step %d: p[%d] = %v", s, i, got)
			}
			rel := math.Abs(got-want) / max(math.Abs(want), 1)
			worst = max(worst, rel)
			if rel > driftTolerance {
				t.Fatalf("step %d: p[%d] = %v, reference %v (relative error %.3g > %.3g)", s, i, got, want, rel, driftTolerance)
			}
		}
	}
	if o.Steps() != steps {
		t.Errorf("Steps() = %d, want %d", o.Steps(), steps)
	}
	// The problem must actually have been optimized, or the comparison
	// proves little.
	moved := 0
	for i := range p {
		if math.Abs(float64(p[i]-initParams(n, 8)[i])) > 1e-3 {
			moved++
		}
	}
	if moved < n/2 {
		t.Errorf("only %d of %d parameters moved", moved, n)
	}
	return worst
}

// TestAgainstFloat64: the float32 loops against the previous float64 loops
// over driftSteps steps.
func TestAgainstFloat64(t *testing.T) {
	for _, tc := range specCases {
		t.Run(tc.name, func(t *testing.T) {
			ref := newF64Ref(tc.spec, driftN)
			worst := driftAgainst(t, tc.spec, ref.step)
			t.Logf("worst relative error %.3g (tolerance %.3g)", worst, driftTolerance)
		})
	}
}

// TestOneStepFloat64: before every step the float64 loops get the float32
// optimizer's parameters, state and step count, so that each step is
// compared on its own, with the per-step bound (16u, see above).
func TestOneStepFloat64(t *testing.T) {
	const n, steps = driftN, driftSteps
	const u = unitRoundoff
	sched := Schedule{Kind: "cosine", Base: 0.05, WarmupSteps: 10, TotalSteps: steps - 10, Min: 0.001}
	for _, tc := range specCases {
		t.Run(tc.name, func(t *testing.T) {
			o, ref := mustNew(t, tc.spec, n), newF64Ref(tc.spec, n)
			pr := newProblem(n, 7)
			p, pRef, old := initParams(n, 8), make([]float32, n), make([]float32, n)
			g, gRef := make([]float32, n), make([]float32, n)
			st, refSt := o.State(), ref.state()
			oldSt := make([][]float32, len(st))
			for j := range oldSt {
				oldSt[j] = make([]float32, n)
			}
			noise := make([]float64, n)
			rng := rand.New(rand.NewPCG(9, 9))
			worst := 0.0
			check := func(s int, what string, got, want, old []float32) {
				t.Helper()
				for i := range got {
					scale := math.Abs(float64(old[i])) + math.Abs(float64(want[i])-float64(old[i]))
					d := math.Abs(float64(got[i]) - float64(want[i]))
					if d == 0 {
						continue
					}
					ulps := d / (u * scale)
					worst = max(worst, ulps)
					if !(ulps <= 16) {
						t.Fatalf("step %d: %s[%d] = %v from %v, float64 loop %v: off by %.3g u*(|old|+|new-old|), want <= 16",
							s, what, i, got[i], old[i], want[i], ulps)
					}
				}
			}
			for s := range steps {
				for i := range noise {
					noise[i] = 0.1 * rng.NormFloat64()
				}
				pr.grads(p, g, noise)
				copy(gRef, g)
				copy(pRef, p)
				copy(old, p)
				for j := range st {
					copy(refSt[j], st[j].Data)
					copy(oldSt[j], st[j].Data)
				}
				ref.steps = o.Steps()
				lr := sched.At(s)
				o.Step(p, g, lr)
				ref.step(pRef, gRef, lr)
				check(s, "p", p, pRef, old)
				for j := range st {
					check(s, st[j].Name, st[j].Data, refSt[j], oldSt[j])
				}
			}
			t.Logf("worst %.3g u*(|old|+|new-old|)", worst)
		})
	}
}
