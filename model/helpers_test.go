package model_test

import (
	"github.com/ringtrain/ringtrain/internal/testutil"
	"math"
	"slices"
	"testing"

	"github.com/ringtrain/ringtrain/model"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newModel builds a model with InitParams(seed) and closes it at cleanup.
func newModel(t testing.TB, spec model.Spec, batch int, seed uint64) *model.Model {
	t.Helper()
	m, err := model.New(spec, batch)
	if err != nil {
		t.Fatalf("New(%+v, %d): %v", spec, batch, err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := model.InitParams(spec, m.Params(), seed); err != nil {
		t.Fatalf("InitParams: %v", err)
	}
	return m
}

// rng is a tiny deterministic generator for test data (splitmix64).
type rng uint64

func (r *rng) next() uint64 {
	*r += 0x9e3779b97f4a7c15
	z := uint64(*r)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// uniform returns a value in [-1, 1).
func (r *rng) uniform() float32 { return float32(float64(r.next()>>11)/(1<<53)*2 - 1) }

// normal returns a standard normal value (Box-Muller).
func (r *rng) normal() float64 {
	u1 := (float64(r.next()>>11) + 1) / (1<<53 + 1)
	u2 := float64(r.next()>>11) / (1 << 53)
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// randomBatch returns n samples of uniform inputs and uniform labels.
func randomBatch(spec model.Spec, n int, seed uint64) ([]float32, []int32) {
	r := rng(seed)
	x := make([]float32, n*spec.InputSize())
	for i := range x {
		x[i] = r.uniform()
		if len(spec.Net) > 0 && spec.Net[0].Type == model.LayerEmbedding { // token ids
			x[i] = float32(r.next() % uint64(spec.Net[0].Vocab))
		}
	}
	y := make([]int32, n)
	for i := range y {
		y[i] = int32(r.next() % uint64(spec.Classes))
	}
	return x, y
}

// blobs returns n samples of a separable problem: class c is a Gaussian
// blob (std 0.3) around a random center with coordinates ±1.
func blobs(spec model.Spec, n int, seed uint64) ([]float32, []int32) {
	r := rng(seed)
	in := spec.InputSize()
	centers := make([]float32, spec.Classes*in)
	for i := range centers {
		centers[i] = 1
		if r.next()&1 == 0 {
			centers[i] = -1
		}
	}
	x := make([]float32, n*in)
	y := make([]int32, n)
	for i := range y {
		c := int(r.next() % uint64(spec.Classes))
		y[i] = int32(c)
		for j := range in {
			x[i*in+j] = centers[c*in+j] + float32(0.3*r.normal())
		}
	}
	return x, y
}

var (
	tinyMLP = model.Spec{Kind: "mlp", Hidden: []int{5, 4}, Input: []int{2, 3}, Classes: 3, Loss: "xent"}
	tinyCNN = model.Spec{Kind: "cnn", Hidden: []int{6}, Input: []int{2, 12, 12}, Classes: 3, Loss: "xent"}
)

// withLoss returns spec with another loss.
func withLoss(spec model.Spec, loss string) model.Spec {
	spec.Loss = loss
	return spec
}

// tokenBatch is n random windows of a sequence model: token ids as inputs,
// random next-token labels.
func tokenBatch(spec model.Spec, n int, seed uint64) ([]float32, []int32) {
	r := rng(seed)
	x := make([]float32, n*spec.Input[0])
	y := make([]int32, len(x))
	for i := range x {
		x[i] = float32(r.next() % uint64(spec.Classes))
		y[i] = int32(r.next() % uint64(spec.Classes))
	}
	return x, y
}

// checkHooks runs a plain pass of m on x, y, then the same pass with the
// parameters withheld (NaN) until WaitParams copies each bucket in: the
// hooks must wait for every bucket once, in ascending order, before the
// pass reads it, the gradients must be the bits of the plain pass, and
// GradReady must come once per bucket, after which its gradients do not
// change. It leaves the real parameters in m.
func checkHooks(t *testing.T, m model.Engine, x []float32, y []int32) {
	t.Helper()
	bk := m.Buckets()
	if _, err := m.ForwardBackwardWith(x, y, model.Pass{}); err != nil {
		t.Fatal(err)
	}
	want, real := slices.Clone(m.Grads()), slices.Clone(m.Params())
	for i := range m.Params() {
		m.Params()[i] = float32(math.NaN())
	}
	clear(m.Grads())
	var waits []int
	ready := map[int][]float32{}
	_, err := m.ForwardBackwardWith(x, y, model.Pass{Hooks: model.Hooks{
		WaitParams: func(b int) {
			waits = append(waits, b)
			copy(m.Params()[bk[b].Lo:bk[b].Hi], real[bk[b].Lo:bk[b].Hi])
		},
		GradReady: func(b int) {
			if _, dup := ready[b]; dup {
				t.Errorf("GradReady(%d) twice", b)
			}
			ready[b] = slices.Clone(m.Grads()[bk[b].Lo:bk[b].Hi])
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(waits) != len(bk) || !slices.IsSorted(waits) {
		t.Fatalf("WaitParams calls %v for %d buckets", waits, len(bk))
	}
	if !testutil.BitsEqual(m.Grads(), want) {
		t.Fatalf("gradients with parameters arriving through WaitParams differ at %d", testutil.FirstBitDiff(m.Grads(), want))
	}
	if len(ready) != len(bk) {
		t.Fatalf("GradReady for %d of %d buckets", len(ready), len(bk))
	}
	for b, g := range ready {
		if !testutil.BitsEqual(g, want[bk[b].Lo:bk[b].Hi]) {
			t.Fatalf("bucket %d changed after GradReady", b)
		}
	}
}

// centralDiff perturbs p[i] by ±eps (the steps actually taken after float32
// rounding), restores it and returns the central difference of loss and
// the two one-sided slopes (they disagree where a ReLU or max-pool switch
// lies within eps: a kink).
func centralDiff(p []float32, i int, eps float32, loss func() float64) (num, fwd, bwd float64) {
	orig := p[i]
	p[i] = orig + eps
	hi, lp := float64(p[i])-float64(orig), loss()
	p[i] = orig - eps
	lo, lm := float64(orig)-float64(p[i]), loss()
	p[i] = orig
	l0 := loss()
	return (lp - lm) / (hi + lo), (lp - l0) / hi, (l0 - lm) / lo
}

// checkAccumulation: k micro-batches of micro samples accumulated with
// GradScale 1/k give the mean loss and the gradient of one batch of all
// their samples (within 1e-5).
func checkAccumulation(t *testing.T, spec model.Spec, micro, k int) {
	t.Helper()
	big := newModel(t, spec, micro*k, 5)
	small := newModel(t, spec, micro, 5)
	x, y := randomBatch(spec, micro*k, 9)
	lb, err := big.ForwardBackward(x, y)
	if err != nil {
		t.Fatal(err)
	}
	in := spec.InputSize()
	var sum float64
	for j := range k {
		l, err := small.ForwardBackwardWith(x[j*micro*in:(j+1)*micro*in], y[j*micro:(j+1)*micro],
			model.Pass{Accumulate: j > 0, GradScale: 1 / float32(k)})
		if err != nil {
			t.Fatal(err)
		}
		sum += float64(l)
	}
	if math.Abs(sum/float64(k)-float64(lb)) > 1e-5*math.Max(1, math.Abs(float64(lb))) {
		t.Fatalf("mean micro-batch loss %v, one batch %v", sum/float64(k), lb)
	}
	if i, ok := closeTo(small.Grads(), big.Grads(), 1e-5); !ok {
		t.Fatalf("grad[%d] = %v accumulated, %v in one batch", i, small.Grads()[i], big.Grads()[i])
	}
}
