package model_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/ringtrain/ringtrain/model"
)

// closeTo reports the first element of got that differs from want by more
// than tol times the largest magnitude in want (float32 sums over many
// terms in another order differ in the last bits of the largest terms,
// which is large relative to small elements near cancellation).
func closeTo(got, want []float32, tol float64) (int, bool) {
	scale := 1e-30
	for _, w := range want {
		scale = math.Max(scale, math.Abs(float64(w)))
	}
	for i := range got {
		if d := math.Abs(float64(got[i]) - float64(want[i])); !(d <= tol*scale) {
			return i, false
		}
	}
	return -1, true
}

var fusedSpecs = []model.Spec{
	tinyMLP, withLoss(tinyMLP, "mse"), tinyCNN, withLoss(tinyCNN, "mse"),
	{Kind: "mlp", Input: []int{7}, Classes: 4, Loss: "xent"}, // softmax regression: no hidden layer
	{Kind: "cnn", Input: []int{1, 13, 15}, Classes: 5, Loss: "xent"},
	{Kind: "mlp", Hidden: []int{40, 30}, Input: []int{20}, Classes: 6, Loss: "xent"},
}

// TestFusedMatchesReference: the fused kernels (the production engine)
// give the loss, gradients and evaluation of the reference engine
// (gorgonia's own ops on its TapeMachine) within 1e-5, step after step
// with SGD updates in between, for every model kind, both losses, odd
// spatial sizes and batch sizes 1 and 5.
func TestFusedMatchesReference(t *testing.T) {
	for _, spec := range fusedSpecs {
		for _, batch := range []int{1, 5} {
			t.Run(fmt.Sprintf("%s/%s/%v/batch%d", spec.Kind, spec.Loss, spec.Input, batch), func(t *testing.T) {
				fast := newModel(t, spec, batch, 3)
				ref, err := model.NewReference(spec, batch)
				if err != nil {
					t.Fatal(err)
				}
				defer ref.Close()
				copy(ref.Params(), fast.Params())
				for step := range 3 {
					x, y := randomBatch(spec, batch, uint64(20+step))
					lf, err := fast.ForwardBackward(x, y)
					if err != nil {
						t.Fatal(err)
					}
					lr, err := ref.ForwardBackward(x, y)
					if err != nil {
						t.Fatal(err)
					}
					if _, ok := closeTo([]float32{lf}, []float32{lr}, 1e-5); !ok {
						t.Fatalf("step %d: loss %v, reference %v", step, lf, lr)
					}
					if i, ok := closeTo(fast.Grads(), ref.Grads(), 1e-5); !ok {
						t.Fatalf("step %d: grad[%d] = %v, reference %v", step, i, fast.Grads()[i], ref.Grads()[i])
					}
					ex, ey := randomBatch(spec, 37, uint64(40+step))
					sf, cf, err := fast.Evaluate(ex, ey)
					if err != nil {
						t.Fatal(err)
					}
					sr, cr, err := ref.Evaluate(ex, ey)
					if err != nil {
						t.Fatal(err)
					}
					if math.Abs(sf-sr) > 1e-5*math.Max(1, math.Abs(sr)) || cf != cr {
						t.Fatalf("step %d: Evaluate %v/%d, reference %v/%d", step, sf, cf, sr, cr)
					}
					for i, g := range fast.Grads() {
						fast.Params()[i] -= 0.3 * g
					}
					copy(ref.Params(), fast.Params())
				}
			})
		}
	}
}

// TestAccumulateEqualsOneBatch: K micro-batches accumulated with
// GradScale 1/K give the gradient of one batch of all their samples.
func TestAccumulateEqualsOneBatch(t *testing.T) {
	for _, spec := range []model.Spec{tinyMLP, withLoss(tinyMLP, "mse"), tinyCNN} {
		for _, k := range []int{2, 3} {
			t.Run(fmt.Sprintf("%s/%s/K%d", spec.Kind, spec.Loss, k), func(t *testing.T) {
				checkAccumulation(t, spec, 4, k)
			})
		}
	}
}

// TestHooks: with buckets, WaitParams is called once per bucket in
// ascending order before the pass reads any of that bucket (the test
// writes each bucket's real parameters only inside the hook, over
// garbage), and GradReady once per bucket when its gradients are final
// (they do not change after the call).
func TestHooks(t *testing.T) {
	mlp := model.Spec{Kind: "mlp", Hidden: []int{40, 30}, Input: []int{20}, Classes: 6, Loss: "xent"}
	for _, spec := range []model.Spec{mlp, tinyCNN} {
		for _, bytes := range []int{0, 64, 256, 1000, 4096} {
			t.Run(fmt.Sprintf("%s/%dB", spec.Kind, bytes), func(t *testing.T) {
				const batch = 3
				m := newModel(t, spec, batch, 7)
				m.SetBucketBytes(bytes)
				bk := m.Buckets()
				if bk[0].Lo != 0 || bk[len(bk)-1].Hi != len(m.Params()) {
					t.Fatalf("buckets %v do not cover %d params", bk, len(m.Params()))
				}
				for i := 1; i < len(bk); i++ {
					if bk[i].Lo != bk[i-1].Hi || bk[i].Lo >= bk[i].Hi {
						t.Fatalf("buckets %v are not a partition", bk)
					}
				}
				x, y := randomBatch(spec, batch, 8)
				checkHooks(t, m, x, y)
			})
		}
	}
}

// TestStepAllocations: a steady-state pass with hooks allocates nothing
// (the pure-Go build needs GOMAXPROCS=1 for that: see gemm).
func TestStepAllocations(t *testing.T) {
	for _, spec := range []model.Spec{tinyMLP, tinyCNN} {
		m := newModel(t, spec, 4, 1)
		m.SetBucketBytes(64)
		x, y := randomBatch(spec, 4, 2)
		h := model.Hooks{WaitParams: func(int) {}, GradReady: func(int) {}}
		if _, err := m.ForwardBackward(x, y); err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(20, func() { m.ForwardBackwardWith(x, y, model.Pass{Hooks: h, Accumulate: true}) }); n > 0 {
			t.Errorf("%s: %v allocations per pass", spec.Kind, n)
		}
	}
}
