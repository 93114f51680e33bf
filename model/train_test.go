package model_test

import (
	"testing"

	"github.com/ringtrain/ringtrain/model"
)

// TestTrainingReducesLoss runs plain SGD (p -= lr*g) on a small separable
// problem (Gaussian blobs) and expects the loss to fall substantially and
// the classes to be learned.
func TestTrainingReducesLoss(t *testing.T) {
	tests := []struct {
		name  string
		spec  model.Spec
		lr    float32
		steps int
	}{
		{"mlp/xent", model.Spec{Kind: "mlp", Hidden: []int{16}, Input: []int{8}, Classes: 4, Loss: "xent"}, 0.1, 300},
		{"mlp/mse", model.Spec{Kind: "mlp", Hidden: []int{16}, Input: []int{8}, Classes: 4, Loss: "mse"}, 0.05, 300},
		{"cnn/xent", model.Spec{Kind: "cnn", Hidden: []int{16}, Input: []int{1, 12, 12}, Classes: 3, Loss: "xent"}, 0.02, 150},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const batch, n = 16, 256
			m := newModel(t, tc.spec, batch, 1)
			x, y := blobs(tc.spec, n, 77)
			in := tc.spec.InputSize()

			loss0, _, err := m.Evaluate(x, y)
			if err != nil {
				t.Fatal(err)
			}
			p, g := m.Params(), m.Grads()
			for step := range tc.steps {
				i := (step * batch) % n
				if _, err := m.ForwardBackward(x[i*in:(i+batch)*in], y[i:i+batch]); err != nil {
					t.Fatal(err)
				}
				for j := range p {
					p[j] -= tc.lr * g[j]
				}
			}
			loss1, correct, err := m.Evaluate(x, y)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("mean loss %.4f -> %.4f, accuracy %d/%d", loss0/n, loss1/n, correct, n)
			if loss1 > 0.25*loss0 {
				t.Errorf("mean loss %.4f -> %.4f after %d SGD steps; want at least a 4x drop", loss0/n, loss1/n, tc.steps)
			}
			if correct < n*95/100 {
				t.Errorf("accuracy %d/%d on a separable problem; want >= 95%%", correct, n)
			}
		})
	}
}
