package device

import (
	"math"
	"testing"
)

// TestRNNActivations: the kernels' σ and tanh (sigmoidK, tanhK, the
// formulas rnn.ptx computes) are close to float64 math over small,
// moderate and saturating arguments, exact at the limits, NaN for NaN:
// tanh within 4 float32 ulps (its polynomial keeps small arguments
// accurate); σ within (4 + |x|) ulps, as rounding −x·log2 e to float32
// moves 2^(−x·log2 e) by up to |x|·2⁻²⁴ relative (the CPU's expf reduces
// its argument more carefully), and below float32's normal range it may
// be 0.
func TestRNNActivations(t *testing.T) {
	const ulp = 1.0 / (1 << 23)
	var xs []float32
	for x := -100.0; x <= 100; x += 0.01 {
		xs = append(xs, float32(x))
	}
	for e := -40; e <= 0; e++ {
		v := float32(math.Ldexp(1.37, e))
		xs = append(xs, v, -v)
	}
	xs = append(xs, 0, float32(math.Copysign(0, -1)), 0.6249999, 0.625, -0.625, 87, -87, 89, -89, 1e30, -1e30)
	for _, x := range xs {
		s, ws := sigmoidK(x), 1/(1+math.Exp(-float64(x)))
		if d := math.Abs(float64(s) - ws); d > (4+math.Abs(float64(x)))*ulp*ws+0x1p-126 {
			t.Errorf("σ(%g) = %g, want %g (error %.3g ulps)", x, s, ws, d/(ulp*ws))
		}
		th, wt := tanhK(x), math.Tanh(float64(x))
		if d := math.Abs(float64(th) - wt); d > 4*ulp*math.Abs(wt)+1e-45 {
			t.Errorf("tanh(%g) = %g, want %g (error %.3g ulps)", x, th, wt, d/(ulp*math.Abs(wt)))
		}
	}
	for _, tc := range []struct{ x, s, th float32 }{
		{float32(math.Inf(1)), 1, 1}, {float32(math.Inf(-1)), 0, -1}, {1e30, 1, 1}, {-1e30, 0, -1},
	} {
		if s, th := sigmoidK(tc.x), tanhK(tc.x); s != tc.s || th != tc.th {
			t.Errorf("at %g: σ %g, tanh %g, want %g, %g", tc.x, s, th, tc.s, tc.th)
		}
	}
	nan := float32(math.NaN())
	if s, th := sigmoidK(nan), tanhK(nan); s == s || th == th {
		t.Errorf("NaN: σ %g, tanh %g, want NaN", s, th)
	}
}
