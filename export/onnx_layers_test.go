package export_test

import (
	"encoding/json"
	"testing"

	"github.com/advancedclimatesystems/gonnx"
	"gorgonia.org/tensor"

	"github.com/ringtrain/ringtrain/export"
	"github.com/ringtrain/ringtrain/model"
)

// layersSpecs are the layers networks the ONNX and torch tests export,
// every layer type among them: a conv net with strides, padding, no-bias
// layers, a fused LeNet block (conv2d, relu, maxpool 2), gelu, tanh,
// layernorm over the width, dropout; an embedding net; and two nets of
// ops gonnx has (Mul, Conv, Relu, Tanh, Flatten, Gemm, MatMul, Gather).
var layersSpecs = []struct {
	name  string
	spec  model.Spec
	gonnx bool
}{
	{"layers-conv", model.Spec{Kind: model.KindLayers, Input: []int{2, 11, 10}, Classes: 4, Loss: model.LossXent, Net: []model.Layer{
		{Type: model.LayerConv2D, Out: 3, Kernel: 3, Pad: 1, Stride: 2, NoBias: true},
		{Type: model.LayerGELU},
		{Type: model.LayerMaxPool, Size: 2, Stride: 1},
		{Type: model.LayerLayerNorm},
		{Type: model.LayerConv2D, Out: 4, Kernel: 2},
		{Type: model.LayerReLU},
		{Type: model.LayerMaxPool, Size: 2},
		{Type: model.LayerTanh},
		{Type: model.LayerFlatten},
		{Type: model.LayerDropout, P: 0.3},
		{Type: model.LayerLinear, Out: 9},
		{Type: model.LayerReLU},
		{Type: model.LayerLinear, Out: 4, NoBias: true},
	}}, false},
	{"layers-embed", model.Spec{Kind: model.KindLayers, Input: []int{5}, Classes: 3, Loss: model.LossXent, Net: []model.Layer{
		{Type: model.LayerEmbedding, Vocab: 9, Out: 4},
		{Type: model.LayerLayerNorm},
		{Type: model.LayerGELU},
		{Type: model.LayerFlatten},
		{Type: model.LayerLinear, Out: 3},
		{Type: model.LayerDropout, P: 0.1},
	}}, false},
	{"layers-mlp", model.Spec{Kind: model.KindLayers, Input: []int{1, 2, 3}, Classes: 5, Loss: model.LossXent, Net: []model.Layer{
		{Type: model.LayerConv2D, Out: 3, Kernel: 2, Pad: 1},
		{Type: model.LayerTanh},
		{Type: model.LayerFlatten},
		{Type: model.LayerLinear, Out: 8},
		{Type: model.LayerReLU},
		{Type: model.LayerLinear, Out: 5, NoBias: true},
	}}, true},
	{"layers-embed-tanh", model.Spec{Kind: model.KindLayers, Input: []int{4}, Classes: 3, Loss: model.LossXent, Net: []model.Layer{
		{Type: model.LayerEmbedding, Vocab: 6, Out: 3},
		{Type: model.LayerTanh},
		{Type: model.LayerFlatten},
		{Type: model.LayerLinear, Out: 3},
	}}, true},
}

// layersInputs returns n samples for spec: token ids for an embedding
// net (int64, and as the model's float32), else raw values in [0, 255).
func layersInputs(spec model.Spec, n int, seed uint64) (toks []int64, x []float32) {
	if spec.Net[0].Type != model.LayerEmbedding {
		return nil, rawInputs(spec, n, seed)
	}
	r := splitmix(seed)
	toks = make([]int64, n*spec.InputSize())
	x = make([]float32, len(toks))
	for i := range toks {
		toks[i] = int64(r.next() % uint64(spec.Net[0].Vocab))
		x[i] = float32(toks[i])
	}
	return toks, x
}

// layersReference returns ringtrain's Forward logits ([n][Classes]) of
// the inputs: token ids as they are, raw values times testScale.
func layersReference(t *testing.T, m *model.Model, toks []int64, x []float32) [][]float64 {
	t.Helper()
	spec := m.Spec()
	in := x
	if toks == nil {
		in = make([]float32, len(x))
		for i, v := range x {
			in[i] = v * float32(testScale)
		}
	}
	z, err := m.Forward(in)
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]float64, len(z)/spec.Classes)
	for s := range out {
		for _, v := range z[s*spec.Classes : (s+1)*spec.Classes] {
			out[s] = append(out[s], float64(v))
		}
	}
	return out
}

// TestONNXLayersCheckerAndNumpy: ONNX's checker and strict shape
// inference accept the layers exports, and the numpy evaluator gives
// ringtrain's Forward logits within 1e-5 of the largest.
func TestONNXLayersCheckerAndNumpy(t *testing.T) {
	py := requirePython(t, "REQUIRE_ONNX_CHECKER", "onnx", "numpy")
	for i, tc := range layersSpecs {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			em, rm := trained(t, tc.spec, uint64(i+1))
			file := writeFile(t, dir, "model.onnx", onnxBytes(t, em, map[string]string{"architecture": tc.spec.Kind}))
			toks, x := layersInputs(tc.spec, 6, uint64(800+i))
			c := map[string]any{"input": tc.spec.Input, "x": x, "want": layersReference(t, rm, toks, x), "relative": true, "tolerance": tolerance}
			if toks != nil {
				c["x"], c["tokens"] = toks, true
			}
			b, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			runScript(t, py, "onnx_eval.py", file, writeFile(t, dir, "case.json", b))
		})
	}
}

// TestONNXLayersRunByGonnx runs the layers graphs of ops gonnx has with
// its runtime and compares them with ringtrain's Forward logits.
func TestONNXLayersRunByGonnx(t *testing.T) {
	const n = 5
	for i, tc := range layersSpecs {
		if !tc.gonnx {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			em, rm := trained(t, tc.spec, uint64(i+1))
			g, err := gonnx.NewModelFromBytes(onnxBytes(t, em, nil))
			if err != nil {
				t.Fatal(err)
			}
			toks, x := layersInputs(tc.spec, n, uint64(900+i))
			shape := append([]int{n}, tc.spec.Input...)
			in := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(x))
			if toks != nil {
				in = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(toks))
			}
			out, err := g.Run(gonnx.Tensors{export.InputName: in})
			if err != nil {
				t.Fatal(err)
			}
			logits, ok := out[export.OutputName].Data().([]float32)
			if !ok || len(logits) != n*tc.spec.Classes {
				t.Fatalf("logits: %T of %v, want %d float32", out[export.OutputName].Data(), out[export.OutputName].Shape(), n*tc.spec.Classes)
			}
			want := layersReference(t, rm, toks, x)
			top := 0.0
			for _, row := range want {
				for _, v := range row {
					top = max(top, v, -v)
				}
			}
			for s := range n {
				for c := range tc.spec.Classes {
					if d := float64(logits[s*tc.spec.Classes+c]) - want[s][c]; d > tolerance*top || d < -tolerance*top {
						t.Fatalf("sample %d class %d: gonnx %.7f, ringtrain %.7f", s, c, logits[s*tc.spec.Classes+c], want[s][c])
					}
				}
			}
		})
	}
}
