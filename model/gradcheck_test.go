package model_test

import (
	"math"
	"testing"

	"github.com/ringtrain/ringtrain/model"
)

// TestGradientFiniteDifference compares ForwardBackward's gradient with
// central finite differences of the mean loss. Params are perturbed in
// float32 (the actual step is measured after rounding) and the perturbed
// losses come from Evaluate, which sums per-sample losses in float64.
// Where the two one-sided differences disagree, a ReLU or max-pool switch
// lies within eps (a kink, found often in the CNN); there the analytic
// gradient must equal one of the one-sided slopes instead.
func TestGradientFiniteDifference(t *testing.T) {
	tests := []struct {
		name      string
		spec      model.Spec
		perTensor int // params checked per tensor (spread evenly); 0 = all
	}{
		{"mlp/xent", tinyMLP, 0},
		{"mlp/mse", withLoss(tinyMLP, "mse"), 0},
		{"cnn/xent", tinyCNN, 40},
		{"cnn/mse", withLoss(tinyCNN, "mse"), 40},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const (
				batch = 3
				eps   = 5e-4
			)
			m := newModel(t, tc.spec, batch, 7)
			p := m.Params()
			// Non-zero biases, so their gradients are not a special case.
			r := rng(99)
			for _, ts := range m.Layout() {
				if len(ts.Shape) == 1 {
					for i := ts.Offset; i < ts.Offset+ts.Size(); i++ {
						p[i] = 0.1 * r.uniform()
					}
				}
			}
			x, y := randomBatch(tc.spec, batch, 3)
			if _, err := m.ForwardBackward(x, y); err != nil {
				t.Fatal(err)
			}
			grad := append([]float32(nil), m.Grads()...)

			meanLoss := func() float64 {
				sum, _, err := m.Evaluate(x, y)
				if err != nil {
					t.Fatal(err)
				}
				return sum / batch
			}
			kinks, checked := 0, 0
			for _, ts := range m.Layout() {
				var diff2, num2, ana2 float64
				idx := spread(ts.Size(), tc.perTensor)
				for _, k := range idx {
					i := ts.Offset + k
					num, fwd, bwd := centralDiff(p, i, eps, meanLoss)
					ana := float64(grad[i])
					checked++
					if !near(fwd, bwd, 1e-3, 1e-2) {
						// A ReLU or max-pool switch lies inside [p-eps, p+eps]:
						// the loss has a kink there and the central difference
						// means nothing. The analytic gradient must be one of
						// the one-sided slopes.
						kinks++
						if !near(ana, fwd, 2e-3, 2e-2) && !near(ana, bwd, 2e-3, 2e-2) {
							t.Errorf("%s[%d]: at a kink, analytic %.6g matches neither one-sided slope %.6g / %.6g", ts.Name, k, ana, fwd, bwd)
						}
						continue
					}
					diff2 += (num - ana) * (num - ana)
					num2 += num * num
					ana2 += ana * ana
				}
				norm := math.Sqrt(max(num2, ana2))
				rel := math.Sqrt(diff2) / max(norm, 1e-6)
				t.Logf("%-14s %4d checked  |grad| %.3e  rel err %.2e", ts.Name, len(idx), norm, rel)
				if rel > 1e-2 {
					t.Errorf("%s: relative error %.3e between analytic and numeric gradient (|grad| %.3e)", ts.Name, rel, norm)
				}
			}
			t.Logf("%d of %d checked parameters sit at a kink", kinks, checked)
			if kinks*4 > checked {
				t.Errorf("%d of %d checked parameters sit at a kink: the check is not meaningful", kinks, checked)
			}
		})
	}
}

// near reports whether a and b agree within atol + rtol*max(|a|, |b|).
func near(a, b, atol, rtol float64) bool {
	return math.Abs(a-b) <= atol+rtol*max(math.Abs(a), math.Abs(b))
}

// spread returns k indices spread evenly over [0, n), or all of them if
// k == 0 or k >= n.
func spread(n, k int) []int {
	if k == 0 || k >= n {
		k = n
	}
	out := make([]int, k)
	for i := range out {
		out[i] = i * n / k
	}
	return out
}
