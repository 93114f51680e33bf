package model_test

import (
	"errors"
	"math"
	"testing"

	"github.com/ringtrain/ringtrain/model"
)

// TestForwardMatchesEvaluate checks Forward's logits against Evaluate: the
// loss and accuracy computed from them equal Evaluate's, over more samples
// than one chunk; one sample alone gives its row of the batch.
func TestForwardMatchesEvaluate(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec model.Spec
	}{
		{"mlp", model.Spec{Kind: model.KindMLP, Hidden: []int{8}, Input: []int{6}, Classes: 3, Loss: model.LossXent}},
		{"cnn", model.Spec{Kind: model.KindCNN, Hidden: []int{10}, Input: []int{1, 12, 12}, Classes: 4, Loss: model.LossXent}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newModel(t, tc.spec, 4, 7)
			const n = model.DefaultEvalChunk + 37
			x, y := randomBatch(tc.spec, n, 3)
			logits, err := m.Forward(x)
			if err != nil {
				t.Fatal(err)
			}
			c := tc.spec.Classes
			if len(logits) != n*c {
				t.Fatalf("Forward: %d logits, want %d", len(logits), n*c)
			}
			var loss float64
			correct := 0
			for i := range n {
				row := logits[i*c : (i+1)*c]
				loss += xent(row, int(y[i]))
				if argmaxOf(row) == int(y[i]) {
					correct++
				}
			}
			wantLoss, wantCorrect, err := m.Evaluate(x, y)
			if err != nil {
				t.Fatal(err)
			}
			if loss != wantLoss || correct != wantCorrect {
				t.Fatalf("from Forward: loss %v, correct %d; Evaluate: %v, %d", loss, correct, wantLoss, wantCorrect)
			}
			in := tc.spec.InputSize()
			one, err := m.Forward(x[5*in : 6*in])
			if err != nil {
				t.Fatal(err)
			}
			for j := range c {
				if d := math.Abs(float64(one[j] - logits[5*c+j])); d > 1e-5 {
					t.Fatalf("sample 5 alone: logit %d = %v, in the batch %v", j, one[j], logits[5*c+j])
				}
			}
			if out, err := m.Forward(nil); err != nil || len(out) != 0 {
				t.Fatalf("Forward(nil) = %v, %v; want empty, nil", out, err)
			}
			if _, err := m.Forward(x[:in+1]); !errors.Is(err, model.ErrInput) {
				t.Fatalf("Forward of a partial sample: %v, want ErrInput", err)
			}
		})
	}
}

func xent(row []float32, label int) float64 {
	mx := math.Inf(-1)
	for _, v := range row {
		mx = math.Max(mx, float64(v))
	}
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v) - mx)
	}
	return mx + math.Log(s) - float64(row[label])
}

func argmaxOf(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
