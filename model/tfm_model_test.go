package model

import (
	"math"
	"slices"
	"testing"
)

// tfmTiny is a small transformer with biases for the internal tests.
var tfmTiny = Spec{Kind: KindTransformer, Input: []int{6}, Classes: 7, Embed: 8, Layers: 2, Heads: 2, Bias: true, Loss: LossXent}

// newTfmTiny builds tfmTiny with N(0, 0.3²) parameters (LayerNorm
// weights 1 + N(0, 0.3²)), so that every position's logits differ.
func newTfmTiny(t *testing.T) *Model {
	t.Helper()
	m, err := New(tfmTiny, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	fillNormal(m.params, 0.3, newSplitMix(1, "tiny"))
	for _, ts := range m.layout {
		if len(ts.Shape) == 1 {
			for i := ts.Offset; i < ts.Offset+ts.Size(); i++ {
				m.params[i] += 1
			}
		}
	}
	return m
}

// fullForward runs the eval program of the whole context on the samples
// of x and returns a copy of the logits (one row per position).
func fullForward(t *testing.T, m *Model, x []float32) []float32 {
	t.Helper()
	n := len(x) / m.spec.Input[0]
	fe, err := newFusedEval(m.spec, m.layout, m.params, n, m.spec.Input[0])
	if err != nil {
		t.Fatal(err)
	}
	logits, err := fe.forward(x)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Clone(logits)
}

// TestTransformerNextLogits: NextLogits of every prefix of a sample
// (lengths 1 to the context, each its own program of t positions) equals
// the full-context forward's logits at the prefix's last position.
func TestTransformerNextLogits(t *testing.T) {
	m := newTfmTiny(t)
	ctx, v := tfmTiny.Input[0], tfmTiny.Classes
	x := []float32{3, 1, 4, 1, 5, 2, 6, 0, 2, 2, 5, 1}
	full := fullForward(t, m, x)
	for s := range 2 {
		toks := make([]int32, ctx)
		for i := range toks {
			toks[i] = int32(x[s*ctx+i])
		}
		for k := 1; k <= ctx; k++ {
			got, err := m.NextLogits(toks[:k])
			if err != nil {
				t.Fatal(err)
			}
			want := full[(s*ctx+k-1)*v : (s*ctx+k)*v]
			for j := range got {
				if math.Abs(float64(got[j]-want[j])) > 1e-5*max(1, math.Abs(float64(want[j]))) {
					t.Fatalf("sample %d, %d tokens: NextLogits %v, full forward %v", s, k, got, want)
				}
			}
		}
	}
}

// TestTransformerCausal: changing the token at position p leaves the
// logits of the positions before p bit for bit unchanged, and changes
// those from p on; the other sample is untouched.
func TestTransformerCausal(t *testing.T) {
	m := newTfmTiny(t)
	ctx, v := tfmTiny.Input[0], tfmTiny.Classes
	x := []float32{3, 1, 4, 1, 5, 2, 6, 0, 2, 2, 5, 1}
	base := fullForward(t, m, x)
	for p := range ctx {
		x2 := slices.Clone(x)
		x2[p] = float32((int(x[p]) + 3) % v)
		got := fullForward(t, m, x2)
		for r := range 2 * ctx {
			same := slices.Equal(got[r*v:(r+1)*v], base[r*v:(r+1)*v])
			if changed := r >= p && r < ctx; changed == same {
				t.Fatalf("token %d changed: logits of row %d changed %v", p, r, !same)
			}
		}
	}
}
