package optim

import (
	"math/rand/v2"
	"testing"
)

// specCases are the optimizer configurations every property test runs over.
var specCases = []struct {
	name string
	spec Spec
}{
	{"sgd", Spec{Name: "sgd"}},
	{"sgd_wd", Spec{Name: "sgd", WeightDecay: 1e-2}},
	{"sgd_momentum", Spec{Name: "sgd", Momentum: 0.9}},
	{"sgd_nesterov_wd", Spec{Name: "sgd", Momentum: 0.9, Nesterov: true, WeightDecay: 1e-3}},
	{"adam", Spec{Name: "adam"}},
	{"adam_l2", Spec{Name: "adam", WeightDecay: 1e-2}},
	{"adam_custom", Spec{Name: "adam", Beta1: 0.8, Beta2: 0.95, Eps: 1e-6}},
	{"adamw", Spec{Name: "adamw", WeightDecay: 1e-2}},
	{"adagrad", Spec{Name: "adagrad"}},
	{"adagrad_wd", Spec{Name: "adagrad", WeightDecay: 1e-3, Eps: 1e-8}},
	{"rmsprop", Spec{Name: "rmsprop"}},
	{"rmsprop_alpha_wd", Spec{Name: "rmsprop", Alpha: 0.9, WeightDecay: 1e-3}},
}

// problem is a noisy separable quadratic: grad_i = a_i*(p_i - c_i) + noise.
// Gradients depend on the parameters, so a wrong update feeds back.
type problem struct {
	a, c []float64
}

func newProblem(n int, seed uint64) problem {
	rng := rand.New(rand.NewPCG(seed, 1))
	pr := problem{a: make([]float64, n), c: make([]float64, n)}
	for i := range n {
		pr.a[i] = 0.1 + 2*rng.Float64()
		pr.c[i] = 3 * rng.NormFloat64()
	}
	return pr
}

// grads writes the gradient at params into g; noise is one draw per element.
func (pr problem) grads(params, g []float32, noise []float64) {
	for i := range params {
		g[i] = float32(pr.a[i]*(float64(params[i])-pr.c[i]) + noise[i])
		if i%97 == 0 {
			g[i] = 0 // exact zeros exercise the eps paths
		}
	}
}

func initParams(n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 2))
	p := make([]float32, n)
	for i := range p {
		p[i] = float32(rng.NormFloat64())
	}
	return p
}

func mustNew(t testing.TB, s Spec, n int) Optimizer {
	t.Helper()
	o, err := New(s, n)
	if err != nil {
		t.Fatalf("New(%+v, %d): %v", s, n, err)
	}
	return o
}

func cloneState(o Optimizer) [][]float32 {
	var out [][]float32
	for _, s := range o.State() {
		out = append(out, append([]float32(nil), s.Data...))
	}
	return out
}
