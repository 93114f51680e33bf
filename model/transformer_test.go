package model_test

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/internal/testutil"
	"github.com/ringtrain/ringtrain/model"
)

var (
	// tinyTfm is the gradient-checked transformer.
	tinyTfm = model.Spec{Kind: "transformer", Input: []int{5}, Classes: 7, Embed: 8, Layers: 2, Heads: 2, Loss: "xent"}
	// anchorTfm is nanoGPT's CPU shakespeare_char model (bench/char_gpt.py),
	// the configuration of the performance goal (batch 12).
	anchorTfm = model.Spec{Kind: "transformer", Input: []int{64}, Classes: 65, Embed: 128, Layers: 4, Heads: 4, Loss: "xent"}
)

// withBias and withDropout return variants of a transformer spec.
func withBias(s model.Spec) model.Spec { s.Bias = true; return s }

func withDropout(s model.Spec, p float64) model.Spec { s.Dropout = p; return s }

// perturbParams replaces the init values by N(0, 0.3²) weights, LayerNorm
// weights 1 + N(0, 0.3²) and N(0, 0.1²) biases, so that every gradient is
// large enough for a finite-difference check.
func perturbParams(m *model.Model, seed uint64) {
	r := rng(seed)
	p := m.Params()
	for _, ts := range m.Layout() {
		for i := ts.Offset; i < ts.Offset+ts.Size(); i++ {
			switch {
			case strings.HasSuffix(ts.Name, ".bias"):
				p[i] = float32(0.1 * r.normal())
			case len(ts.Shape) == 1:
				p[i] = float32(1 + 0.3*r.normal())
			default:
				p[i] = float32(0.3 * r.normal())
			}
		}
	}
}

func TestTransformerSpecValidation(t *testing.T) {
	ok := tinyTfm
	bad := func(f func(s *model.Spec)) model.Spec {
		s := ok
		s.Input = slices.Clone(ok.Input)
		f(&s)
		return s
	}
	tests := []struct {
		name string
		spec model.Spec
		want string // in the error
	}{
		{"input 2-D", bad(func(s *model.Spec) { s.Input = []int{5, 2} }), "Input"},
		{"context 0", bad(func(s *model.Spec) { s.Input = []int{0} }), "Input"},
		{"embed 0", bad(func(s *model.Spec) { s.Embed = 0 }), "Embed = 0"},
		{"embed negative", bad(func(s *model.Spec) { s.Embed = -8 }), "Embed = -8"},
		{"heads 0", bad(func(s *model.Spec) { s.Heads = 0 }), "Heads = 0"},
		{"heads not dividing", bad(func(s *model.Spec) { s.Heads = 3 }), "Heads = 3 does not divide Embed = 8"},
		{"heads above embed", bad(func(s *model.Spec) { s.Heads = 16 }), "Heads = 16"},
		{"layers 0", bad(func(s *model.Spec) { s.Layers = 0 }), "Layers = 0"},
		{"layers huge", bad(func(s *model.Spec) { s.Layers = 1 << 20 }), "Layers = 1048576"},
		{"hidden", bad(func(s *model.Spec) { s.Hidden = []int{16} }), "Hidden"},
		{"mse", bad(func(s *model.Spec) { s.Loss = "mse" }), "Loss"},
		{"dropout 1", bad(func(s *model.Spec) { s.Dropout = 1 }), "Dropout = 1"},
		{"dropout negative", bad(func(s *model.Spec) { s.Dropout = -0.1 }), "Dropout = -0.1"},
		{"dropout NaN", bad(func(s *model.Spec) { s.Dropout = math.NaN() }), "Dropout = NaN"},
		{"too many params", bad(func(s *model.Spec) { s.Embed = 1 << 16; s.Heads = 1 }), "larger than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.spec.Validate()
			if !errors.Is(err, model.ErrSpec) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate(%+v) = %v, want ErrSpec naming %q", tc.spec, err, tc.want)
			}
			if _, err := model.New(tc.spec, 2); !errors.Is(err, model.ErrSpec) {
				t.Fatalf("New = %v, want ErrSpec", err)
			}
		})
	}
	for _, s := range []model.Spec{ok, withBias(ok), withDropout(ok, 0.5), anchorTfm, bad(func(s *model.Spec) { s.Input = []int{1}; s.Heads = 8 })} {
		if err := s.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", s, err)
		}
	}
}

// TestTransformerLayout: the tensor names, shapes and order (they are part
// of checkpoints), with and without biases, and the parameter count of the
// anchor model (PyTorch's char_gpt.py counts 804,096: the head is tied).
func TestTransformerLayout(t *testing.T) {
	for _, bias := range []bool{false, true} {
		spec := tinyTfm
		spec.Bias = bias
		layout, total, err := model.Layout(spec)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		add := func(name string, shape ...int) { want = append(want, fmt.Sprintf("%s%v", name, shape)) }
		wb := func(name string, shape ...int) {
			add(name+".weight", shape...)
			if bias {
				add(name+".bias", shape[len(shape)-1])
			}
		}
		add("tok.weight", 7, 8)
		add("pos.weight", 5, 8)
		for i := range 2 {
			b := fmt.Sprintf("block%d.", i)
			wb(b+"ln1", 8)
			wb(b+"attn.qkv", 8, 24)
			wb(b+"attn.proj", 8, 8)
			wb(b+"ln2", 8)
			wb(b+"mlp.fc", 8, 32)
			wb(b+"mlp.proj", 32, 8)
		}
		wb("lnf", 8)
		var got []string
		off := 0
		for _, ts := range layout {
			got = append(got, fmt.Sprintf("%s%v", ts.Name, ts.Shape))
			if ts.Offset != off {
				t.Errorf("%s at offset %d, want %d", ts.Name, ts.Offset, off)
			}
			off += ts.Size()
		}
		if !slices.Equal(got, want) {
			t.Errorf("bias %v: layout\n%v\nwant\n%v", bias, got, want)
		}
		if total != off {
			t.Errorf("total %d, tensors sum to %d", total, off)
		}
	}
	if _, total, err := model.Layout(anchorTfm); err != nil || total != 804096 {
		t.Errorf("anchor model: %d parameters (%v), want 804096", total, err)
	}
}

// TestTransformerInit: nanoGPT's initialization — N(0, 0.02²) for linear
// weights and embeddings, 0.02/sqrt(2·Layers) for the residual
// projections, LayerNorm weights 1, biases 0 — deterministic per seed.
func TestTransformerInit(t *testing.T) {
	spec := withBias(anchorTfm)
	layout, total, err := model.Layout(spec)
	if err != nil {
		t.Fatal(err)
	}
	p, q := make([]float32, total), make([]float32, total)
	if err := model.InitParams(spec, p, 1); err != nil {
		t.Fatal(err)
	}
	if err := model.InitParams(spec, q, 1); err != nil {
		t.Fatal(err)
	}
	testutil.RequireBitsEqual(t, "params of the same seed", p, q)
	for _, ts := range layout {
		v := p[ts.Offset : ts.Offset+ts.Size()]
		var s, ss float64
		for _, x := range v {
			s += float64(x)
			ss += float64(x) * float64(x)
		}
		n := float64(len(v))
		mean, std := s/n, math.Sqrt(ss/n-(s/n)*(s/n))
		switch {
		case strings.HasSuffix(ts.Name, ".bias"):
			if ss != 0 {
				t.Errorf("%s: not zero", ts.Name)
			}
		case len(ts.Shape) == 1:
			if mean != 1 || std != 0 {
				t.Errorf("%s: mean %v std %v, want all 1", ts.Name, mean, std)
			}
		default:
			want := 0.02
			if strings.HasSuffix(ts.Name, "proj.weight") {
				want = 0.02 / math.Sqrt(8)
			}
			// The sample std of n normal values is within a few 1/sqrt(2n).
			if math.Abs(std/want-1) > 4/math.Sqrt(2*n) || math.Abs(mean) > 4*want/math.Sqrt(n) {
				t.Errorf("%s: mean %.3g std %.4g, want 0 and %.4g", ts.Name, mean, std, want)
			}
		}
	}
}

// TestTransformerGradientFiniteDifference compares ForwardBackward's
// gradient of the tiny model, every parameter of every tensor, with and
// without biases, with central differences of the mean loss from
// Evaluate (float64 sums).
func TestTransformerGradientFiniteDifference(t *testing.T) {
	for _, spec := range []model.Spec{tinyTfm, withBias(tinyTfm)} {
		t.Run(fmt.Sprintf("bias=%v", spec.Bias), func(t *testing.T) {
			const batch, eps = 3, 1e-3
			m := newModel(t, spec, batch, 1)
			perturbParams(m, 2)
			x, y := tokenBatch(spec, batch, 3)
			if _, err := m.ForwardBackward(x, y); err != nil {
				t.Fatal(err)
			}
			grad := slices.Clone(m.Grads())
			p := m.Params()
			meanLoss := func() float64 {
				sum, _, err := m.Evaluate(x, y)
				if err != nil {
					t.Fatal(err)
				}
				return sum / float64(len(y))
			}
			for _, ts := range m.Layout() {
				var diff2, num2 float64
				for i := ts.Offset; i < ts.Offset+ts.Size(); i++ {
					num, _, _ := centralDiff(p, i, eps, meanLoss)
					diff2 += (num - float64(grad[i])) * (num - float64(grad[i]))
					num2 += num * num
				}
				rel := math.Sqrt(diff2 / max(num2, 1e-30))
				t.Logf("%-22s |grad| %.3e  rel err %.2e", ts.Name, math.Sqrt(num2), rel)
				if num2 == 0 || rel > 5e-3 {
					t.Errorf("%s: relative error %.3e between analytic and numeric gradient (|grad| %.3e)", ts.Name, rel, math.Sqrt(num2))
				}
			}
		})
	}
}

// TestTransformerDropoutGradient: with dropout, a training pass is a
// smooth function of the parameters for a fixed Pass.Seed; its gradient
// against central differences of ForwardBackward's loss at that seed.
func TestTransformerDropoutGradient(t *testing.T) {
	spec := withBias(withDropout(tinyTfm, 0.2))
	const batch, eps, seed = 2, 3e-3, 11
	m := newModel(t, spec, batch, 1)
	perturbParams(m, 4)
	x, y := tokenBatch(spec, batch, 5)
	pass := model.Pass{Seed: seed}
	if _, err := m.ForwardBackwardWith(x, y, pass); err != nil {
		t.Fatal(err)
	}
	grad := slices.Clone(m.Grads())
	p := m.Params()
	loss := func() float64 {
		l, err := m.ForwardBackwardWith(x, y, pass)
		if err != nil {
			t.Fatal(err)
		}
		return float64(l)
	}
	for _, ts := range m.Layout() {
		var diff2, num2 float64
		for i := ts.Offset; i < ts.Offset+ts.Size(); i++ {
			num, _, _ := centralDiff(p, i, eps, loss)
			diff2 += (num - float64(grad[i])) * (num - float64(grad[i]))
			num2 += num * num
		}
		if rel := math.Sqrt(diff2 / max(num2, 1e-30)); num2 == 0 || rel > 2e-2 {
			t.Errorf("%s: relative error %.3e between analytic and numeric gradient (|grad| %.3e)", ts.Name, rel, math.Sqrt(num2))
		}
	}
}

// TestTransformerDeterminism: two models of the same seed give bit-equal
// losses and gradients on the same batch, pass after pass.
func TestTransformerDeterminism(t *testing.T) {
	for _, spec := range []model.Spec{tinyTfm, withBias(withDropout(tinyTfm, 0.3))} {
		a, b := newModel(t, spec, 4, 9), newModel(t, spec, 4, 9)
		for step := range 3 {
			x, y := tokenBatch(spec, 4, uint64(step))
			pass := model.Pass{Seed: uint64(100 + step)}
			la, err := a.ForwardBackwardWith(x, y, pass)
			if err != nil {
				t.Fatal(err)
			}
			lb, err := b.ForwardBackwardWith(x, y, pass)
			if err != nil {
				t.Fatal(err)
			}
			if la != lb || !testutil.BitsEqual(a.Grads(), b.Grads()) {
				t.Fatalf("dropout %v step %d: losses %v, %v; gradients equal: %v", spec.Dropout, step, la, lb, testutil.BitsEqual(a.Grads(), b.Grads()))
			}
			if allZero(a.Grads()) {
				t.Fatal("gradient is all zero")
			}
			for i, g := range a.Grads() {
				a.Params()[i] -= 0.1 * g
				b.Params()[i] -= 0.1 * g
			}
		}
	}
}

// TestTransformerAccumulate: two accumulated half batches (GradScale 1/2)
// give one batch's loss and gradient, within 1e-5 of the largest
// gradient.
func TestTransformerAccumulate(t *testing.T) {
	for _, spec := range []model.Spec{tinyTfm, withBias(tinyTfm)} {
		const batch = 6
		big, small := newModel(t, spec, batch, 3), newModel(t, spec, batch/2, 3)
		perturbParams(big, 1)
		copy(small.Params(), big.Params())
		x, y := tokenBatch(spec, batch, 7)
		lb, err := big.ForwardBackward(x, y)
		if err != nil {
			t.Fatal(err)
		}
		half := batch / 2 * spec.Input[0]
		var sum float64
		for j := range 2 {
			l, err := small.ForwardBackwardWith(x[j*half:(j+1)*half], y[j*half:(j+1)*half], model.Pass{Accumulate: j > 0, GradScale: 0.5})
			if err != nil {
				t.Fatal(err)
			}
			sum += float64(l)
		}
		if math.Abs(sum/2-float64(lb)) > 1e-5*math.Max(1, float64(lb)) {
			t.Fatalf("bias %v: mean half-batch loss %v, one batch %v", spec.Bias, sum/2, lb)
		}
		if i, ok := closeTo(small.Grads(), big.Grads(), 1e-5); !ok {
			t.Fatalf("bias %v: grad[%d] = %v accumulated, %v in one batch", spec.Bias, i, small.Grads()[i], big.Grads()[i])
		}
	}
}

// TestTransformerDropout: the same Pass.Seed gives the same pass, another
// seed another one, dropout changes the training loss, and Evaluate has
// no dropout: it equals, bit for bit, the model without dropout.
func TestTransformerDropout(t *testing.T) {
	spec := withDropout(tinyTfm, 0.25)
	const batch = 4
	m, plain := newModel(t, spec, batch, 5), newModel(t, tinyTfm, batch, 5)
	perturbParams(m, 6)
	copy(plain.Params(), m.Params())
	x, y := tokenBatch(spec, batch, 8)
	run := func(seed uint64) (float32, []float32) {
		l, err := m.ForwardBackwardWith(x, y, model.Pass{Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return l, slices.Clone(m.Grads())
	}
	l1, g1 := run(1)
	l1b, g1b := run(1)
	l2, g2 := run(2)
	if l1 != l1b || !testutil.BitsEqual(g1, g1b) {
		t.Fatalf("seed 1 twice: losses %v, %v, gradients equal %v", l1, l1b, testutil.BitsEqual(g1, g1b))
	}
	if l1 == l2 || testutil.BitsEqual(g1, g2) {
		t.Fatalf("seeds 1 and 2 give the same pass (loss %v)", l1)
	}
	lp, err := plain.ForwardBackward(x, y)
	if err != nil {
		t.Fatal(err)
	}
	if lp == l1 || lp == l2 {
		t.Fatalf("dropout does not change the training loss (%v)", lp)
	}
	e1, c1, err := m.Evaluate(x, y)
	if err != nil {
		t.Fatal(err)
	}
	e2, c2, err := m.Evaluate(x, y)
	if err != nil {
		t.Fatal(err)
	}
	ep, cp, err := plain.Evaluate(x, y)
	if err != nil {
		t.Fatal(err)
	}
	if e1 != e2 || c1 != c2 || e1 != ep || c1 != cp {
		t.Fatalf("Evaluate with dropout %v, %d then %v, %d; without dropout %v, %d", e1, c1, e2, c2, ep, cp)
	}
	if math.Abs(ep/float64(len(y))-float64(lp)) > 1e-5*float64(lp) {
		t.Fatalf("Evaluate's mean loss %v, ForwardBackward's %v", ep/float64(len(y)), lp)
	}
}

// TestTransformerLossAtInit: at nanoGPT's initialization the anchor
// model predicts nearly uniformly: the loss on random tokens is ln(vocab)
// within 0.1.
func TestTransformerLossAtInit(t *testing.T) {
	m := newModel(t, anchorTfm, 12, 1)
	x, y := tokenBatch(anchorTfm, 12, 2)
	l, err := m.ForwardBackward(x, y)
	if err != nil {
		t.Fatal(err)
	}
	if want := math.Log(float64(anchorTfm.Classes)); math.Abs(float64(l)-want) > 0.1 {
		t.Fatalf("loss at init %v, want ln(%d) = %v within 0.1", l, anchorTfm.Classes, want)
	}
}

// TestTransformerLearns: the tiny model learns a repeated pattern
// ("abcabc…", every window of it): Adam drives the loss
// far below ln(vocab) in a few hundred steps, and Evaluate then predicts
// every next token.
func TestTransformerLearns(t *testing.T) {
	spec := tinyTfm
	ctx := spec.Input[0]
	const batch, steps = 3, 300
	m := newModel(t, spec, batch, 1)
	seq := make([]float32, 3+ctx+1)
	for i := range seq {
		seq[i] = float32(i % 3)
	}
	x, y := make([]float32, batch*ctx), make([]int32, batch*ctx)
	for s := range batch { // the windows starting at 0, 1, 2
		for j := range ctx {
			x[s*ctx+j], y[s*ctx+j] = seq[s+j], int32(seq[s+j+1])
		}
	}
	// Adam (β 0.9, 0.99, lr 1e-2), as nanoGPT trains, without decay.
	mom, vel := make([]float64, len(m.Params())), make([]float64, len(m.Params()))
	var loss float32
	for step := 1; step <= steps; step++ {
		var err error
		if loss, err = m.ForwardBackward(x, y); err != nil {
			t.Fatal(err)
		}
		c1, c2 := 1-math.Pow(0.9, float64(step)), 1-math.Pow(0.99, float64(step))
		for i, g := range m.Grads() {
			mom[i] = 0.9*mom[i] + 0.1*float64(g)
			vel[i] = 0.99*vel[i] + 0.01*float64(g)*float64(g)
			m.Params()[i] -= float32(1e-2 * mom[i] / c1 / (math.Sqrt(vel[i]/c2) + 1e-8))
		}
		if step%50 == 0 {
			t.Logf("step %d loss %v", step, loss)
		}
	}
	if lnV := math.Log(float64(spec.Classes)); float64(loss) > 0.1*lnV {
		t.Fatalf("loss after %d steps %v, want below %v (ln(vocab) = %v)", steps, loss, 0.1*lnV, lnV)
	}
	if _, correct, err := m.Evaluate(x, y); err != nil || correct != len(y) {
		t.Fatalf("Evaluate: %d of %d next tokens right (%v)", correct, len(y), err)
	}
}

// TestTransformerHooks: with buckets (large weights split at rows),
// WaitParams comes once per bucket in ascending order before anything of
// the bucket is read (the parameters are NaN until then), GradReady once
// per bucket when its gradients are final.
func TestTransformerHooks(t *testing.T) {
	for _, bytes := range []int{0, 96, 700, 4096} {
		t.Run(fmt.Sprintf("%dB", bytes), func(t *testing.T) {
			spec := withBias(tinyTfm)
			const batch = 2
			m := newModel(t, spec, batch, 7)
			m.SetBucketBytes(bytes)
			x, y := tokenBatch(spec, batch, 8)
			checkHooks(t, m, x, y)
		})
	}
}

// TestTransformerAllocations: a steady-state pass of the anchor model
// (and of a model with biases and dropout) with buckets and hooks
// allocates nothing (the pure-Go build needs GOMAXPROCS=1: see gemm).
func TestTransformerAllocations(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for _, tc := range []struct {
		spec  model.Spec
		batch int
	}{{anchorTfm, 12}, {withBias(withDropout(tinyTfm, 0.1)), 3}} {
		m := newModel(t, tc.spec, tc.batch, 1)
		m.SetBucketBytes(64 << 10)
		x, y := tokenBatch(tc.spec, tc.batch, 2)
		h := model.Hooks{WaitParams: func(int) {}, GradReady: func(int) {}}
		if _, err := m.ForwardBackward(x, y); err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(2, func() {
			m.ForwardBackwardWith(x, y, model.Pass{Hooks: h, Accumulate: true, Seed: 3})
		}); n > 0 {
			t.Errorf("%+v: %v allocations per pass", tc.spec, n)
		}
	}
}

// TestTransformerBadTokens: token ids out of range or not integers are
// ErrInput, not a panic.
func TestTransformerBadTokens(t *testing.T) {
	m := newModel(t, tinyTfm, 2, 1)
	x, y := tokenBatch(tinyTfm, 2, 1)
	for _, v := range []float32{-1, 7, 2.5, float32(math.NaN())} {
		bad := slices.Clone(x)
		bad[3] = v
		if _, err := m.ForwardBackward(bad, y); !errors.Is(err, model.ErrInput) {
			t.Errorf("token %v: ForwardBackward = %v, want ErrInput", v, err)
		}
		if _, _, err := m.Evaluate(bad, y); !errors.Is(err, model.ErrInput) {
			t.Errorf("token %v: Evaluate = %v, want ErrInput", v, err)
		}
	}
	for _, toks := range [][]int32{{}, {0, 1, 2, 3, 4, 5}, {0, 7}, {-1}} {
		if _, err := m.NextLogits(toks); !errors.Is(err, model.ErrInput) {
			t.Errorf("NextLogits(%v) = %v, want ErrInput", toks, err)
		}
	}
}

// FuzzTransformerSpec: any transformer spec either fails Validate with
// ErrSpec or has the layout of its fields, and never panics.
func FuzzTransformerSpec(f *testing.F) {
	f.Add(5, 7, 8, 2, 2, false, 0.0)
	f.Add(64, 65, 128, 4, 4, true, 0.1)
	f.Add(0, 1, 0, 0, 0, false, 1.0)
	f.Fuzz(func(t *testing.T, context, vocab, embed, layers, heads int, bias bool, dropout float64) {
		s := model.Spec{Kind: "transformer", Input: []int{context}, Classes: vocab, Embed: embed, Layers: layers, Heads: heads, Bias: bias, Dropout: dropout, Loss: "xent"}
		layout, total, err := model.Layout(s)
		if err != nil {
			if !errors.Is(err, model.ErrSpec) {
				t.Fatalf("Layout(%+v) = %v, want ErrSpec", s, err)
			}
			return
		}
		per, lnf := 6, 1
		if bias {
			per, lnf = 12, 2
		}
		want := 2 + layers*per + lnf
		if len(layout) != want || total > model.MaxParams || embed%heads != 0 || !(dropout >= 0 && dropout < 1) {
			t.Fatalf("Layout(%+v): %d tensors, %d params", s, len(layout), total)
		}
	})
}

// BenchmarkTransformerStep: one ForwardBackward of the anchor model
// (nanoGPT's CPU shakespeare_char configuration, batch 12), the optimizer
// excluded. Compare with PyTorch's forward+backward on one thread, e.g.
//
//	GOMAXPROCS=1 go test -run '^$' -bench TransformerStep -benchmem ./model/
//	GOMAXPROCS=1 OPENBLAS_NUM_THREADS=1 CGO_LDFLAGS=-lopenblas go test -tags openblas -run '^$' -bench TransformerStep -benchmem ./model/
func BenchmarkTransformerStep(b *testing.B) { benchStep(b, anchorTfm, 12) }
