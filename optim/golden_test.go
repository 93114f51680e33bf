package optim

import (
	"math"
	"testing"
)

// TestGolden checks a few steps worked out by hand from the torch.optim
// definitions, as an anchor independent of both implementations. The
// tolerance, 1e-6 relative to max(|want|, 1) (about 17 float32 units of
// roundoff), covers rounding p0, the gradients and the float32 arithmetic
// of one to three steps.
func TestGolden(t *testing.T) {
	tests := []struct {
		name  string
		spec  Spec
		p0    float32
		grads []float32 // one scalar gradient per step
		lr    float32
		want  []float64 // parameter after each step
	}{
		// b=1 -> p=0.9; b=0.9+1=1.9 -> p=0.9-0.19.
		{"sgd momentum", Spec{Name: "sgd", Momentum: 0.9}, 1, []float32{1, 1}, 0.1, []float64{0.9, 0.71}},
		// b=1, g=1+0.9 -> p=0.81; b=1.9, g=1+1.71 -> p=0.81-0.271.
		{"sgd nesterov", Spec{Name: "sgd", Momentum: 0.9, Nesterov: true}, 1, []float32{1, 1}, 0.1, []float64{0.81, 0.539}},
		// g=1+0.5*1=1.5 -> p=1-0.15.
		{"sgd l2", Spec{Name: "sgd", WeightDecay: 0.5}, 1, []float32{1}, 0.1, []float64{0.85}},
		// Adam's first step moves by lr*g/(|g|+eps).
		{"adam first step", Spec{Name: "adam"}, 1, []float32{2}, 0.1, []float64{1 - 0.1*2/(2+1e-8)}},
		// Constant gradients keep m_hat/sqrt(v_hat) at 1.
		{"adam constant grad", Spec{Name: "adam", Eps: 1e-12}, 1, []float32{-3, -3, -3}, 0.1, []float64{1.1, 1.2, 1.3}},
		// p=1*(1-0.1*0.1)=0.99, then -0.1.
		{"adamw", Spec{Name: "adamw", WeightDecay: 0.1, Eps: 1e-12}, 1, []float32{2}, 0.1, []float64{0.89}},
		// s=4 -> p=1-0.1*2/2; s=8 -> p=0.9-0.2/sqrt(8).
		{"adagrad", Spec{Name: "adagrad"}, 1, []float32{2, 2}, 0.1, []float64{0.9, 0.9 - 0.2/math.Sqrt(8)}},
		// a=0.01*1 -> p=1-0.01*1/(0.1+1e-8).
		{"rmsprop", Spec{Name: "rmsprop"}, 1, []float32{1}, 0.01, []float64{1 - 0.01/(0.1+1e-8)}},
	}
	for _, tt := range tests {
		o := mustNew(t, tt.spec, 1)
		p := []float32{tt.p0}
		for s, g := range tt.grads {
			o.Step(p, []float32{g}, tt.lr)
			if d := math.Abs(float64(p[0]) - tt.want[s]); d > 1e-6*max(math.Abs(tt.want[s]), 1) {
				t.Errorf("%s: step %d: p = %.9g, want %.9g", tt.name, s+1, p[0], tt.want[s])
			}
		}
	}
}
