package model_test

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/internal/testutil"
	"github.com/ringtrain/ringtrain/model"
)

// rnnTiny is the small recurrent model of the tests (vocab 7, context 5,
// Embed 4, two layers of 6 and 5).
func rnnTiny(kind string) model.Spec {
	return model.Spec{Kind: kind, Input: []int{5}, Classes: 7, Embed: 4, Hidden: []int{6, 5}, Loss: "xent"}
}

// rnnAnchor is the configuration of the PyTorch peer (char_gpt.py
// --model lstm): context 64, Embed 128, two layers of 256, vocab 65.
func rnnAnchor(kind string) model.Spec {
	return model.Spec{Kind: kind, Input: []int{64}, Classes: 65, Embed: 128, Hidden: []int{256, 256}, Loss: "xent"}
}

func TestRNNSpecs(t *testing.T) {
	for _, kind := range []string{"lstm", "gru"} {
		good := rnnTiny(kind)
		if err := good.Validate(); err != nil {
			t.Fatalf("%s: Validate: %v", kind, err)
		}
		tests := []struct {
			name string
			edit func(s *model.Spec)
			want string
		}{
			{"no embed", func(s *model.Spec) { s.Embed = 0 }, "Embed = 0"},
			{"negative embed", func(s *model.Spec) { s.Embed = -2 }, "Embed = -2"},
			{"huge embed", func(s *model.Spec) { s.Embed = 1 << 30 }, "Embed"},
			{"no hidden", func(s *model.Spec) { s.Hidden = nil }, "Hidden"},
			{"zero hidden", func(s *model.Spec) { s.Hidden = []int{4, 0} }, "Hidden[1] = 0"},
			{"no context", func(s *model.Spec) { s.Input = []int{0} }, "Input[0] = 0"},
			{"2-d input", func(s *model.Spec) { s.Input = []int{4, 4} }, "Input [4 4]"},
			{"layers", func(s *model.Spec) { s.Layers = 2 }, "Layers = 2"},
			{"heads", func(s *model.Spec) { s.Heads = 1 }, "Heads = 1"},
			{"bias", func(s *model.Spec) { s.Bias = true }, "Bias"},
			{"dropout", func(s *model.Spec) { s.Dropout = 0.1 }, "Dropout = 0.1"},
			{"mse", func(s *model.Spec) { s.Loss = "mse" }, `Loss "mse"`},
			{"one class", func(s *model.Spec) { s.Classes = 1 }, "Classes"},
			{"too many params", func(s *model.Spec) { s.Hidden = []int{1 << 16} }, "parameters"},
		}
		for _, tc := range tests {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				spec := good
				spec.Hidden = slices.Clone(good.Hidden)
				spec.Input = slices.Clone(good.Input)
				tc.edit(&spec)
				check := func(what string, err error) {
					t.Helper()
					if !errors.Is(err, model.ErrSpec) {
						t.Errorf("%s: err = %v, want ErrSpec", what, err)
					} else if !strings.Contains(err.Error(), tc.want) {
						t.Errorf("%s: err = %q, want it to name %q", what, err, tc.want)
					}
				}
				check("Validate", spec.Validate())
				_, _, err := model.Layout(spec)
				check("Layout", err)
				m, err := model.New(spec, 2)
				check("New", err)
				if m != nil {
					t.Error("New returned a model with an error")
				}
			})
		}
	}
}

func TestRNNLayout(t *testing.T) {
	tests := []struct {
		kind string
		want []model.Tensor
	}{
		{"lstm", []model.Tensor{
			{Name: "embed.weight", Shape: []int{7, 4}},
			{Name: "lstm0.w_ih", Shape: []int{4, 24}}, {Name: "lstm0.w_hh", Shape: []int{6, 24}},
			{Name: "lstm0.b_ih", Shape: []int{24}}, {Name: "lstm0.b_hh", Shape: []int{24}},
			{Name: "lstm1.w_ih", Shape: []int{6, 20}}, {Name: "lstm1.w_hh", Shape: []int{5, 20}},
			{Name: "lstm1.b_ih", Shape: []int{20}}, {Name: "lstm1.b_hh", Shape: []int{20}},
			{Name: "head.weight", Shape: []int{5, 7}}, {Name: "head.bias", Shape: []int{7}},
		}},
		{"gru", []model.Tensor{
			{Name: "embed.weight", Shape: []int{7, 4}},
			{Name: "gru0.w_ih", Shape: []int{4, 18}}, {Name: "gru0.w_hh", Shape: []int{6, 18}},
			{Name: "gru0.b_ih", Shape: []int{18}}, {Name: "gru0.b_hh", Shape: []int{18}},
			{Name: "gru1.w_ih", Shape: []int{6, 15}}, {Name: "gru1.w_hh", Shape: []int{5, 15}},
			{Name: "gru1.b_ih", Shape: []int{15}}, {Name: "gru1.b_hh", Shape: []int{15}},
			{Name: "head.weight", Shape: []int{5, 7}}, {Name: "head.bias", Shape: []int{7}},
		}},
	}
	for _, tc := range tests {
		got, total, err := model.Layout(rnnTiny(tc.kind))
		if err != nil {
			t.Fatal(err)
		}
		off := 0
		for i := range tc.want {
			tc.want[i].Offset = off
			off += tc.want[i].Size()
		}
		if total != off || len(got) != len(tc.want) {
			t.Fatalf("%s: %d tensors, %d params; want %d, %d", tc.kind, len(got), total, len(tc.want), off)
		}
		for i, w := range tc.want {
			if g := got[i]; g.Name != w.Name || !slices.Equal(g.Shape, w.Shape) || g.Offset != w.Offset {
				t.Errorf("%s: tensor %d = %+v, want %+v", tc.kind, i, g, w)
			}
		}
	}
	// The anchor has PyTorch's CharLSTM parameter count (char_gpt.py).
	if _, total, err := model.Layout(rnnAnchor("lstm")); err != nil || total != 946625 {
		t.Errorf("anchor lstm: %d params (%v), PyTorch's CharLSTM has 946625", total, err)
	}
}

// TestRNNInit: PyTorch's default distributions, deterministic per seed:
// the embedding N(0, 1), every recurrent tensor within ±1/√H of its layer
// and spread over it (uniform: variance bound²/3), the head within
// ±1/√H_last.
func TestRNNInit(t *testing.T) {
	for _, kind := range []string{"lstm", "gru"} {
		spec := rnnAnchor(kind)
		layout, total, err := model.Layout(spec)
		if err != nil {
			t.Fatal(err)
		}
		p, q := make([]float32, total), make([]float32, total)
		if err := model.InitParams(spec, p, 5); err != nil {
			t.Fatal(err)
		}
		if err := model.InitParams(spec, q, 5); err != nil {
			t.Fatal(err)
		}
		if !testutil.BitsEqual(p, q) {
			t.Fatalf("%s: InitParams is not deterministic", kind)
		}
		for _, ts := range layout {
			v := p[ts.Offset : ts.Offset+ts.Size()]
			var sum, sq, amax float64
			for _, x := range v {
				sum += float64(x)
				sq += float64(x) * float64(x)
				amax = max(amax, math.Abs(float64(x)))
			}
			mean, variance := sum/float64(len(v)), sq/float64(len(v))
			if ts.Name == "embed.weight" {
				if math.Abs(mean) > 0.05 || math.Abs(variance-1) > 0.05 {
					t.Errorf("%s %s: mean %.3f variance %.3f, want N(0, 1)", kind, ts.Name, mean, variance)
				}
				continue
			}
			bound := 1 / math.Sqrt(256)
			if amax > bound || len(v) >= 1000 && math.Abs(variance/(bound*bound/3)-1) > 0.1 {
				t.Errorf("%s %s: max |v| %.4f variance %.3g, want U(±%.4f) (variance %.3g)", kind, ts.Name, amax, variance, bound, bound*bound/3)
			}
		}
	}
}

// TestRNNGradientFiniteDifference compares ForwardBackward's gradient of
// every parameter of tiny lstm and gru models with central differences
// of the mean loss (Evaluate's float64 sums); the embedding's gradient is
// the first layer's input gradient, and the first layer's is reached
// through the second's. The functions are smooth (no kinks), so a large
// step works: eps 1e-2 keeps the float32 forward's noise in the
// differences small (it grows as 1/eps; the truncation error as eps²).
func TestRNNGradientFiniteDifference(t *testing.T) {
	specs := []model.Spec{rnnTiny("lstm"), rnnTiny("gru")}
	for _, kind := range []string{"lstm", "gru"} { // context 1: no recurrence
		specs = append(specs, model.Spec{Kind: kind, Input: []int{1}, Classes: 5, Embed: 3, Hidden: []int{4}, Loss: "xent"})
	}
	for _, spec := range specs {
		t.Run(fmt.Sprintf("%s/context%d", spec.Kind, spec.Input[0]), func(t *testing.T) {
			const (
				batch = 3
				eps   = 1e-2
			)
			labels := float64(batch * spec.Input[0])
			m := newModel(t, spec, batch, 7)
			p := m.Params()
			x, y := tokenBatch(spec, batch, 3)
			if _, err := m.ForwardBackward(x, y); err != nil {
				t.Fatal(err)
			}
			grad := slices.Clone(m.Grads())
			meanLoss := func() float64 {
				sum, _, err := m.Evaluate(x, y)
				if err != nil {
					t.Fatal(err)
				}
				return sum / labels
			}
			for _, ts := range m.Layout() {
				var diff2, num2, ana2 float64
				for k := range ts.Size() {
					i := ts.Offset + k
					num, _, _ := centralDiff(p, i, eps, meanLoss)
					ana := float64(grad[i])
					diff2 += (num - ana) * (num - ana)
					num2 += num * num
					ana2 += ana * ana
					if !near(ana, num, 5e-5, 1e-2) {
						t.Errorf("%s[%d]: analytic %.6g, numeric %.6g", ts.Name, k, ana, num)
					}
				}
				norm := math.Sqrt(max(num2, ana2))
				rel := math.Sqrt(diff2) / max(norm, 1e-6)
				t.Logf("%-12s %4d checked  |grad| %.3e  rel err %.2e", ts.Name, ts.Size(), norm, rel)
				if spec.Input[0] == 1 && strings.HasSuffix(ts.Name, ".w_hh") {
					if norm != 0 {
						t.Errorf("%s: gradient %.3e with no previous step, want 0", ts.Name, norm)
					}
					continue
				}
				if norm < 1e-4 || rel > 3e-3 {
					t.Errorf("%s: relative error %.3e between analytic and numeric gradient (|grad| %.3e)", ts.Name, rel, norm)
				}
			}
		})
	}
}

// TestRNNDeterminism: the same seed gives bitwise the same loss and
// gradients (two models, and one model twice); accumulating two half
// batches with GradScale 1/2 matches one batch.
func TestRNNDeterminism(t *testing.T) {
	for _, kind := range []string{"lstm", "gru"} {
		spec := rnnTiny(kind)
		x, y := tokenBatch(spec, 4, 11)
		a, b := newModel(t, spec, 4, 3), newModel(t, spec, 4, 3)
		la, err := a.ForwardBackward(x, y)
		if err != nil {
			t.Fatal(err)
		}
		lb, err := b.ForwardBackward(x, y)
		if err != nil {
			t.Fatal(err)
		}
		ga := slices.Clone(a.Grads())
		if math.Float32bits(la) != math.Float32bits(lb) || !testutil.BitsEqual(ga, b.Grads()) {
			t.Fatalf("%s: two models from the same seed: loss %v vs %v, gradients differ at %d", kind, la, lb, testutil.FirstBitDiff(ga, b.Grads()))
		}
		again, err := a.ForwardBackward(x, y)
		if err != nil {
			t.Fatal(err)
		}
		if math.Float32bits(again) != math.Float32bits(la) || !testutil.BitsEqual(ga, a.Grads()) {
			t.Fatalf("%s: a second pass differs: loss %v vs %v", kind, again, la)
		}

		half := newModel(t, spec, 2, 3)
		w := 2 * spec.Input[0]
		var sum float64
		for j := range 2 {
			l, err := half.ForwardBackwardWith(x[j*w:(j+1)*w], y[j*w:(j+1)*w], model.Pass{Accumulate: j > 0, GradScale: 0.5})
			if err != nil {
				t.Fatal(err)
			}
			sum += float64(l)
		}
		if !near(sum/2, float64(la), 0, 1e-5) {
			t.Errorf("%s: mean of the half batches' losses %v, one batch %v", kind, sum/2, la)
		}
		if i, ok := closeTo(half.Grads(), ga, 1e-5); !ok {
			t.Errorf("%s: grad[%d] = %v accumulated, %v in one batch", kind, i, half.Grads()[i], ga[i])
		}
	}
}

// TestRNNLossAtInit: PyTorch's initialization gives the anchor model a
// loss of about ln(vocab) on random tokens.
func TestRNNLossAtInit(t *testing.T) {
	for _, kind := range []string{"lstm", "gru"} {
		spec := rnnAnchor(kind)
		m := newModel(t, spec, 2, 1)
		x, y := tokenBatch(spec, 2, 5)
		loss, err := m.ForwardBackward(x, y)
		if err != nil {
			t.Fatal(err)
		}
		if want := math.Log(float64(spec.Classes)); math.Abs(float64(loss)-want) > 0.2 {
			t.Errorf("%s: loss at init %v, want ln(%d) = %.3f ± 0.2", kind, loss, spec.Classes, want)
		}
	}
}

// TestRNNLearns: plain SGD drives a tiny model's loss on a repeated
// pattern that needs memory (after a 0 comes the token that preceded the
// previous 0, plus 1) far below ln(vocab).
func TestRNNLearns(t *testing.T) {
	pattern := []int32{0, 1, 0, 2, 0, 3}
	for _, kind := range []string{"lstm", "gru"} {
		spec := model.Spec{Kind: kind, Input: []int{8}, Classes: 4, Embed: 8, Hidden: []int{24}, Loss: "xent"}
		const batch, steps, lr = 8, 300, 1.0
		m := newModel(t, spec, batch, 2)
		ctx := spec.Input[0]
		x, y := make([]float32, batch*ctx), make([]int32, batch*ctx)
		r := rng(9)
		var loss float32
		for step := range steps {
			for i := range batch {
				start := int(r.next() % uint64(len(pattern)))
				for j := range ctx {
					x[i*ctx+j] = float32(pattern[(start+j)%len(pattern)])
					y[i*ctx+j] = pattern[(start+j+1)%len(pattern)]
				}
			}
			var err error
			if loss, err = m.ForwardBackward(x, y); err != nil {
				t.Fatal(err)
			}
			if step == 0 && math.Abs(float64(loss)-math.Log(4)) > 0.3 {
				t.Errorf("%s: first loss %v, want about ln 4", kind, loss)
			}
			p, g := m.Params(), m.Grads()
			for i := range p {
				p[i] -= lr * g[i]
			}
		}
		// Only a window's first label can be ambiguous: about 0.07 nats.
		if want := 0.3 * math.Log(4); float64(loss) > want {
			t.Errorf("%s: loss %v after %d steps, want below %.3f", kind, loss, steps, want)
		}
	}
}

// TestRNNHooksAndAllocations: with buckets, WaitParams comes once per
// bucket, ascending, before the pass reads it (the parameters are NaN
// until the hook copies them in), GradReady once per bucket when its
// gradients are final, the gradients are the bits of a pass without
// hooks, and a steady-state pass allocates nothing.
func TestRNNHooksAndAllocations(t *testing.T) {
	for _, kind := range []string{"lstm", "gru"} {
		for _, bytes := range []int{0, 64, 400, 4096} {
			t.Run(fmt.Sprintf("%s/%dB", kind, bytes), func(t *testing.T) {
				spec := rnnTiny(kind)
				m := newModel(t, spec, 3, 7)
				m.SetBucketBytes(bytes)
				x, y := tokenBatch(spec, 3, 8)
				checkHooks(t, m, x, y)
				quiet := model.Hooks{WaitParams: func(int) {}, GradReady: func(int) {}}
				if n := testing.AllocsPerRun(5, func() { m.ForwardBackwardWith(x, y, model.Pass{Hooks: quiet, Accumulate: true}) }); n > 0 {
					t.Errorf("%v allocations per pass", n)
				}
			})
		}
	}
}
