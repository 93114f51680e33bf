package model_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/model"
)

// Tiny networks of kind layers that together use every layer type.
var (
	layersConv = model.Spec{Kind: "layers", Input: []int{2, 11, 11}, Classes: 3, Loss: "xent", Net: []model.Layer{
		{Type: "conv2d", Out: 3, Kernel: 3, Pad: 1, Stride: 2}, // [3 6 6]
		{Type: "tanh"},
		{Type: "maxpool", Size: 2, Stride: 1},             // [3 5 5]
		{Type: "conv2d", Out: 2, Kernel: 2, NoBias: true}, // [2 4 4]
		{Type: "gelu"},
		{Type: "flatten"},
		{Type: "linear", Out: 3},
	}}
	// Two LeNet blocks (conv2d → relu → maxpool 2): the fused convOp,
	// passing CHWN between them.
	layersLeNet = model.Spec{Kind: "layers", Input: []int{2, 8, 8}, Classes: 3, Loss: "xent", Net: []model.Layer{
		{Type: "conv2d", Out: 3, Kernel: 3, Pad: 1}, {Type: "relu"}, {Type: "maxpool", Size: 2}, // [3 4 4]
		{Type: "conv2d", Out: 4, Kernel: 3, Pad: 1}, {Type: "relu"}, {Type: "maxpool", Size: 2}, // [4 2 2]
		{Type: "flatten"},
		{Type: "linear", Out: 3},
	}}
	layersDense = model.Spec{Kind: "layers", Input: []int{2, 3}, Classes: 3, Loss: "xent", Net: []model.Layer{
		{Type: "layernorm"}, // over the last dimension: 2 rows of 3 per sample
		{Type: "flatten"},
		{Type: "linear", Out: 5},
		{Type: "relu"},
		{Type: "linear", Out: 4, NoBias: true},
		{Type: "layernorm"},
		{Type: "tanh"},
		{Type: "linear", Out: 3},
	}}
	// layersEmbed: token ids (vocab 7, a repeated id included by the
	// random batch) → embedding → layernorm → tanh → flatten → linear.
	layersEmbed = model.Spec{Kind: "layers", Input: []int{5}, Classes: 3, Loss: "xent", Net: []model.Layer{
		{Type: "embedding", Vocab: 7, Out: 4}, {Type: "layernorm"}, {Type: "tanh"}, {Type: "flatten"}, {Type: "linear", Out: 3},
	}}
	layersDropout = model.Spec{Kind: "layers", Input: []int{4}, Classes: 3, Loss: "xent", Net: []model.Layer{
		{Type: "linear", Out: 6},
		{Type: "dropout", P: 0.3},
		{Type: "gelu"},
		{Type: "linear", Out: 3},
	}}
)

// withNonZeroBiases gives the 1-D tensors (biases, layernorm gains)
// values that make them no special case.
func withNonZeroBiases(m *model.Model) {
	r := rng(99)
	p := m.Params()
	for _, ts := range m.Layout() {
		if len(ts.Shape) == 1 {
			for i := ts.Offset; i < ts.Offset+ts.Size(); i++ {
				p[i] += 0.1 * r.uniform()
			}
		}
	}
}

// TestLayersGradientFiniteDifference checks every parameter of networks
// using every layer type against central differences, as
// TestGradientFiniteDifference does (kinks of relu and maxpool allowed
// for). The dropout network's loss is the training pass's (same
// Pass.Seed, so the same mask), in float32, hence the larger step.
func TestLayersGradientFiniteDifference(t *testing.T) {
	tests := []struct {
		name  string
		spec  model.Spec
		train bool
		eps   float32
	}{
		{"conv/xent", layersConv, false, 5e-4},
		{"conv/mse", withLoss(layersConv, "mse"), false, 5e-4},
		{"lenet/xent", layersLeNet, false, 5e-4},
		{"lenet/mse", withLoss(layersLeNet, "mse"), false, 5e-4},
		{"dense/xent", layersDense, false, 5e-4},
		{"dense/mse", withLoss(layersDense, "mse"), false, 5e-4},
		{"dropout/xent", layersDropout, true, 1e-2},
		{"embedding/xent", layersEmbed, false, 5e-4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const batch = 3
			m := newModel(t, tc.spec, batch, 7)
			withNonZeroBiases(m)
			p := m.Params()
			x, y := randomBatch(tc.spec, batch, 3)
			pass := model.Pass{Seed: 5}
			if _, err := m.ForwardBackwardWith(x, y, pass); err != nil {
				t.Fatal(err)
			}
			grad := slices.Clone(m.Grads())
			meanLoss := func() float64 {
				if tc.train {
					l, err := m.ForwardBackwardWith(x, y, pass)
					if err != nil {
						t.Fatal(err)
					}
					return float64(l)
				}
				sum, _, err := m.Evaluate(x, y)
				if err != nil {
					t.Fatal(err)
				}
				return sum / batch
			}
			kinks, checked := 0, 0
			for _, ts := range m.Layout() {
				var diff2, num2, ana2 float64
				for i := ts.Offset; i < ts.Offset+ts.Size(); i++ {
					num, fwd, bwd := centralDiff(p, i, tc.eps, meanLoss)
					ana := float64(grad[i])
					checked++
					if !near(fwd, bwd, 1e-3, 1e-2) {
						kinks++
						if !near(ana, fwd, 2e-3, 2e-2) && !near(ana, bwd, 2e-3, 2e-2) {
							t.Errorf("%s[%d]: at a kink, analytic %.6g matches neither one-sided slope %.6g / %.6g", ts.Name, i-ts.Offset, ana, fwd, bwd)
						}
						continue
					}
					diff2 += (num - ana) * (num - ana)
					num2 += num * num
					ana2 += ana * ana
				}
				norm := math.Sqrt(max(num2, ana2))
				rel := math.Sqrt(diff2) / max(norm, 1e-6)
				t.Logf("%-16s %4d checked  |grad| %.3e  rel err %.2e", ts.Name, ts.Size(), norm, rel)
				if rel > 1e-2 {
					t.Errorf("%s: relative error %.3e between analytic and numeric gradient (|grad| %.3e)", ts.Name, rel, norm)
				}
				if !slices.ContainsFunc(grad[ts.Offset:ts.Offset+ts.Size()], func(g float32) bool { return g != 0 }) {
					t.Errorf("%s: zero gradient: the check means nothing", ts.Name)
				}
			}
			if kinks*4 > checked {
				t.Errorf("%d of %d checked parameters sit at a kink: the check is not meaningful", kinks, checked)
			}
		})
	}
}

// TestLayersLayout: names, shapes and order of the parameters.
func TestLayersLayout(t *testing.T) {
	layout, total, err := model.Layout(layersConv)
	ln := model.Spec{Kind: "layers", Input: []int{4, 5}, Classes: 5, Loss: "xent", Net: []model.Layer{{Type: "layernorm"}, {Type: "flatten"}, {Type: "linear", Out: 5}}}
	lnLayout, _, err := model.Layout(ln)
	if err != nil || len(lnLayout) != 4 || lnLayout[0].Name != "layers.0.weight" || !slices.Equal(lnLayout[0].Shape, []int{5}) {
		t.Fatalf("layernorm layout %v, %v", lnLayout, err)
	}
	params := make([]float32, lnLayout[3].Offset+5)
	if err := model.InitParams(ln, params, 1); err != nil || slices.ContainsFunc(params[:5], func(f float32) bool { return f != 1 }) || slices.ContainsFunc(params[5:10], func(f float32) bool { return f != 0 }) {
		t.Fatalf("layernorm init %v, %v", params[:10], err)
	}
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ts := range layout {
		got = append(got, fmt.Sprintf("%s%v", ts.Name, ts.Shape))
	}
	want := []string{"layers.0.weight[3 2 3 3]", "layers.0.bias[3]", "layers.3.weight[2 3 2 2]",
		"layers.6.weight[32 3]", "layers.6.bias[3]"}
	if !slices.Equal(got, want) {
		t.Fatalf("layout %v, want %v", got, want)
	}
	if total != 54+3+24+96+3 {
		t.Fatalf("total %d", total)
	}
	params = make([]float32, total)
	if err := model.InitParams(layersConv, params, 1); err != nil {
		t.Fatal(err)
	}
	for _, ts := range layout {
		v := params[ts.Offset : ts.Offset+ts.Size()]
		switch {
		case strings.HasSuffix(ts.Name, ".bias"):
			if slices.ContainsFunc(v, func(f float32) bool { return f != 0 }) {
				t.Errorf("%s = %v, want 0s", ts.Name, v)
			}
		default:
			if !slices.ContainsFunc(v, func(f float32) bool { return f != 0 }) {
				t.Errorf("%s is all zero", ts.Name)
			}
		}
	}
}

// TestLayersShapeErrors: every bad network is an ErrSpec naming the
// layer's index and type and the shapes involved.
func TestLayersShapeErrors(t *testing.T) {
	spec := func(input []int, classes int, net ...model.Layer) model.Spec {
		return model.Spec{Kind: "layers", Input: input, Classes: classes, Loss: "xent", Net: net}
	}
	lin := func(out int) model.Layer { return model.Layer{Type: "linear", Out: out} }
	tests := []struct {
		name string
		spec model.Spec
		want []string
	}{
		{"linear not flat", spec([]int{16, 5, 5}, 10, model.Layer{Type: "relu"}, lin(10)),
			[]string{"layers[1] (linear)", "input shape [16 5 5] is not flat", "add a flatten layer"}},
		{"conv on flat", spec([]int{784}, 10, model.Layer{Type: "conv2d", Out: 6, Kernel: 5}, model.Layer{Type: "flatten"}, lin(10)),
			[]string{"layers[0] (conv2d)", "input shape [784] is not [C H W]"}},
		{"maxpool on flat", spec([]int{8}, 2, lin(8), model.Layer{Type: "maxpool", Size: 2}, lin(2)),
			[]string{"layers[1] (maxpool)", "input shape [8] is not [C H W]"}},
		{"classes", spec([]int{4}, 10, lin(8), model.Layer{Type: "relu"}, lin(12)),
			[]string{"layers[2] (linear)", "output 12 but the data has 10 classes"}},
		{"last not flat", spec([]int{1, 8, 8}, 10, model.Layer{Type: "conv2d", Out: 10, Kernel: 3}),
			[]string{"layers[0] (conv2d)", "output shape [10 6 6] is not flat"}},
		{"kernel too big", spec([]int{1, 4, 4}, 2, model.Layer{Type: "conv2d", Out: 2, Kernel: 5, Pad: 0}, model.Layer{Type: "flatten"}, lin(2)),
			[]string{"layers[0] (conv2d)", "input shape [1 4 4]", "kernel 5"}},
		{"window too big", spec([]int{1, 3, 3}, 2, model.Layer{Type: "maxpool", Size: 4}, model.Layer{Type: "flatten"}, lin(2)),
			[]string{"layers[0] (maxpool)", "input shape [1 3 3]", "window 4"}},
		{"embedding not first", spec([]int{4}, 2, lin(4), model.Layer{Type: "embedding", Vocab: 5, Out: 2}, model.Layer{Type: "flatten"}, lin(2)),
			[]string{"layers[1] (embedding)", "must be the first layer"}},
		{"embedding on images", spec([]int{1, 4, 4}, 2, model.Layer{Type: "embedding", Vocab: 5, Out: 2}, model.Layer{Type: "flatten"}, lin(2)),
			[]string{"layers[0] (embedding)", "input shape [1 4 4] is not [T] (token ids)"}},
		{"embedding vocab", spec([]int{4}, 2, model.Layer{Type: "embedding", Out: 2}, model.Layer{Type: "flatten"}, lin(2)),
			[]string{"layers[0] (embedding)", "vocab = 0"}},
		{"unknown type", spec([]int{4}, 2, model.Layer{Type: "softmax"}, lin(2)),
			[]string{"layers[0] (softmax)", "unknown type"}},
		{"foreign field", spec([]int{4}, 2, model.Layer{Type: "relu", Out: 3}, lin(2)),
			[]string{"layers[0] (relu)", "out is not a field of relu"}},
		{"dropout p", spec([]int{4}, 2, model.Layer{Type: "dropout", P: 1}, lin(2)),
			[]string{"layers[0] (dropout)", "p = 1"}},
		{"linear out", spec([]int{4}, 2, lin(0), lin(2)),
			[]string{"layers[0] (linear)", "out = 0"}},
		{"no params", spec([]int{2}, 2, model.Layer{Type: "relu"}),
			[]string{"no layer with parameters"}},
		{"empty", spec([]int{2}, 2), []string{"Net is empty"}},
		{"hidden", model.Spec{Kind: "layers", Input: []int{2}, Classes: 2, Loss: "xent", Hidden: []int{3}, Net: []model.Layer{lin(2)}},
			[]string{"Hidden"}},
		{"net on mlp", model.Spec{Kind: "mlp", Input: []int{2}, Classes: 2, Loss: "xent", Net: []model.Layer{lin(2)}},
			[]string{"Net is for kind layers"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.spec.Validate()
			if !errors.Is(err, model.ErrSpec) {
				t.Fatalf("Validate = %v, want ErrSpec", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if _, err := model.New(tc.spec, 2); !errors.Is(err, model.ErrSpec) {
				t.Errorf("New = %v, want ErrSpec", err)
			}
		})
	}
}

// FuzzLayersSpec: any JSON spec of kind layers (as read back from a
// checkpoint's metadata) either fails Validate with ErrSpec or has a
// layout within MaxParams, and small valid ones build and run a pass;
// nothing panics.
func FuzzLayersSpec(f *testing.F) {
	for _, s := range []model.Spec{layersConv, layersDense, layersDropout, mnistCNN, layersLeNet} {
		b, err := json.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"kind":"layers","input":[1,4,4],"classes":2,"loss":"mse","net":[{"type":"conv2d","out":2,"kernel":16777216,"pad":16777216},{"type":"flatten"},{"type":"linear","out":2}]}`))
	f.Add([]byte(`{"kind":"layers","input":[3],"classes":2,"loss":"xent","net":[{"type":"maxpool","size":-1}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var s model.Spec
		if json.Unmarshal(b, &s) != nil || s.Kind != "layers" {
			return
		}
		layout, total, err := model.Layout(s)
		if err != nil {
			if !errors.Is(err, model.ErrSpec) {
				t.Fatalf("Layout = %v, want ErrSpec", err)
			}
			return
		}
		if total > model.MaxParams || len(layout) == 0 {
			t.Fatalf("Layout: %d tensors, %d params", len(layout), total)
		}
		if total > 10000 || s.InputSize() > 1000 || len(s.Net) > 8 || s.Classes > 100 {
			return
		}
		for _, l := range s.Net {
			if l.Out > 64 || l.Kernel > 8 || l.Pad > 4 {
				return
			}
		}
		m, err := model.New(s, 2)
		if err != nil {
			t.Fatalf("New of a valid spec: %v", err)
		}
		defer m.Close()
		if err := model.InitParams(s, m.Params(), 1); err != nil {
			t.Fatal(err)
		}
		x, y := randomBatch(s, 2, 1)
		if _, err := m.ForwardBackward(x, y); err != nil {
			t.Fatal(err)
		}
	})
}

// A layers network that starts with an embedding refuses inputs that are
// not token ids, naming the value.
func TestLayersEmbeddingRefusesBadIDs(t *testing.T) {
	m := newModel(t, layersEmbed, 2, 1)
	x, y := randomBatch(layersEmbed, 2, 3)
	for _, bad := range []float32{7, -1, 2.5} {
		x[3] = bad
		if _, err := m.ForwardBackward(x, y); err == nil || !strings.Contains(err.Error(), "x[3]") {
			t.Errorf("token %v: %v, want an error naming x[3]", bad, err)
		}
	}
}
