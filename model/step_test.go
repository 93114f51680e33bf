package model_test

import (
	"math"
	"slices"
	"testing"

	"github.com/ringtrain/ringtrain/internal/testutil"
	"github.com/ringtrain/ringtrain/model"
)

// TestForwardBackwardOverwrites proves Grads are overwritten, not
// accumulated: the same batch gives bit-identical Grads and loss however
// many steps (on other batches) ran before.
func TestForwardBackwardOverwrites(t *testing.T) {
	for _, spec := range []model.Spec{tinyMLP, withLoss(tinyMLP, "mse"), tinyCNN, withLoss(tinyCNN, "mse")} {
		t.Run(spec.Kind+"/"+spec.Loss, func(t *testing.T) {
			const batch = 4
			m := newModel(t, spec, batch, 1)
			xa, ya := randomBatch(spec, batch, 10)
			xb, yb := randomBatch(spec, batch, 11)

			la, err := m.ForwardBackward(xa, ya)
			if err != nil {
				t.Fatal(err)
			}
			first := slices.Clone(m.Grads())
			if allZero(first) {
				t.Fatal("gradient is all zero")
			}
			for i, step := range []struct {
				x []float32
				y []int32
			}{{xa, ya}, {xb, yb}, {xb, yb}, {xa, ya}} {
				l, err := m.ForwardBackward(step.x, step.y)
				if err != nil {
					t.Fatal(err)
				}
				if &step.x[0] == &xa[0] {
					if l != la || !testutil.BitsEqual(m.Grads(), first) {
						t.Fatalf("step %d on the first batch again: loss %v (want %v), grads equal: %v", i, l, la, testutil.BitsEqual(m.Grads(), first))
					}
				} else if testutil.BitsEqual(m.Grads(), first) {
					t.Fatalf("step %d on another batch gave the same grads", i)
				}
			}
		})
	}
}

// TestParamsReadInPlace proves the graphs read Params in place: an SGD
// update written into Params changes the next loss, and gives exactly
// what a fresh model loaded with the same values computes.
func TestParamsReadInPlace(t *testing.T) {
	for _, spec := range []model.Spec{tinyMLP, tinyCNN} {
		t.Run(spec.Kind, func(t *testing.T) {
			const batch = 4
			m := newModel(t, spec, batch, 1)
			x, y := randomBatch(spec, batch, 10)
			l0, err := m.ForwardBackward(x, y)
			if err != nil {
				t.Fatal(err)
			}
			p, g := m.Params(), m.Grads()
			for i := range p {
				p[i] -= 0.1 * g[i]
			}
			l1, err := m.ForwardBackward(x, y)
			if err != nil {
				t.Fatal(err)
			}
			if !(l1 < l0) {
				t.Fatalf("loss after an SGD step written into Params: %v, before %v; want lower", l1, l0)
			}
			sum, _, err := m.Evaluate(x, y)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(sum/batch-float64(l1)) > 1e-5*math.Max(1, float64(l1)) {
				t.Fatalf("Evaluate mean loss %v, ForwardBackward %v: eval graph does not see the new Params", sum/batch, l1)
			}

			fresh := newModel(t, spec, batch, 12345)
			copy(fresh.Params(), m.Params())
			lf, err := fresh.ForwardBackward(x, y)
			if err != nil {
				t.Fatal(err)
			}
			if lf != l1 || !testutil.BitsEqual(fresh.Grads(), m.Grads()) {
				t.Fatalf("fresh model with the same Params: loss %v vs %v, grads equal %v", lf, l1, testutil.BitsEqual(fresh.Grads(), m.Grads()))
			}
		})
	}
}

// TestInputsNotModified checks that no gorgonia op writes into Params or
// the caller's x and y.
func TestInputsNotModified(t *testing.T) {
	for _, spec := range []model.Spec{tinyMLP, withLoss(tinyMLP, "mse"), tinyCNN} {
		t.Run(spec.Kind+"/"+spec.Loss, func(t *testing.T) {
			const batch = 4
			m := newModel(t, spec, batch, 1)
			x, y := randomBatch(spec, batch, 10)
			p0, x0, y0 := slices.Clone(m.Params()), slices.Clone(x), slices.Clone(y)
			for range 2 {
				if _, err := m.ForwardBackward(x, y); err != nil {
					t.Fatal(err)
				}
				if _, _, err := m.Evaluate(x, y); err != nil {
					t.Fatal(err)
				}
			}
			if !testutil.BitsEqual(m.Params(), p0) || !testutil.BitsEqual(x, x0) || !slices.Equal(y, y0) {
				t.Fatal("ForwardBackward or Evaluate modified Params, x or y")
			}
		})
	}
}

// TestEvaluateChunking checks that Evaluate gives the same per-sample sums
// however the samples are split into chunks (full chunks of 256, padded
// power-of-two remainders).
func TestEvaluateChunking(t *testing.T) {
	spec := tinyMLP
	m := newModel(t, spec, 4, 1)
	in := spec.InputSize()
	x, y := randomBatch(spec, 300, 5)
	total, correct, err := m.Evaluate(x, y)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	var corr int
	for start := 0; start < len(y); {
		n := min(37, len(y)-start) // sizes 37 and a last 4: two padded graph sizes
		s, c, err := m.Evaluate(x[start*in:(start+n)*in], y[start:start+n])
		if err != nil {
			t.Fatal(err)
		}
		sum += s
		corr += c
		start += n
	}
	if math.Abs(sum-total) > 1e-9*math.Abs(total) || corr != correct {
		t.Fatalf("one call: loss %v correct %d; in pieces: loss %v correct %d", total, correct, sum, corr)
	}
	if s, c, err := m.Evaluate(nil, nil); s != 0 || c != 0 || err != nil {
		t.Fatalf("Evaluate of no samples = %v, %v, %v; want 0, 0, nil", s, c, err)
	}
}

func allZero(a []float32) bool {
	for _, v := range a {
		if v != 0 {
			return false
		}
	}
	return true
}
