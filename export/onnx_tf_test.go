package export_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/export"
	"github.com/ringtrain/ringtrain/model"
)

// tfSpecs are the transformers the ONNX and torch tests export: two
// blocks with biases, one without.
var tfSpecs = []struct {
	name string
	spec model.Spec
}{
	{"transformer", model.Spec{Kind: model.KindTransformer, Input: []int{6}, Classes: 7, Embed: 8, Layers: 2, Heads: 2, Bias: true, Loss: model.LossXent}},
	{"transformer-nobias", model.Spec{Kind: model.KindTransformer, Input: []int{5}, Classes: 6, Embed: 6, Layers: 1, Heads: 3, Loss: model.LossXent}},
}

// forwardLogits returns ringtrain's Forward of token sequences
// ([n][Targets][Classes]).
func forwardLogits(t *testing.T, m *model.Model, toks []int64) [][][]float64 {
	t.Helper()
	spec := m.Spec()
	x := make([]float32, len(toks))
	for i, v := range toks {
		x[i] = float32(v)
	}
	z, err := m.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	rows := make([][]float64, len(toks)/spec.InputSize())
	per := spec.Targets() * spec.Classes
	for s := range rows {
		for _, v := range z[s*per : (s+1)*per] {
			rows[s] = append(rows[s], float64(v))
		}
	}
	return reshape(rows, spec.Targets(), spec.Classes)
}

// TestONNXTransformerCheckerAndNumpy: ONNX's checker and strict shape
// inference accept the transformer exports, and the numpy evaluator (its
// Erf, ReduceMean, Softmax, Where, ... from the operator specification)
// gives ringtrain's Forward logits at every position of full-context
// sequences, and NextLogits' at every position of shorter ones (the
// sequence length is dynamic), within 1e-5 of the largest logit.
func TestONNXTransformerCheckerAndNumpy(t *testing.T) {
	py := requirePython(t, "REQUIRE_ONNX_CHECKER", "onnx", "numpy")
	for i, tc := range tfSpecs {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			em, rm := trainedGPT(t, tc.spec, uint64(i+1))
			file := writeFile(t, dir, "model.onnx", onnxBytes(t, em, map[string]string{"architecture": tc.spec.Kind}))
			ctx := tc.spec.Input[0]
			toks := tokens(tc.spec, 4, uint64(700+i))
			short := toks[:3*(ctx-2)]
			cases := []struct {
				name string
				len  int
				toks []int64
				want [][][]float64
			}{
				{"full.json", ctx, toks, forwardLogits(t, rm, toks)},
				{"short.json", ctx - 2, short, reshape(nextLogits(t, rm, short, ctx-2), ctx-2, tc.spec.Classes)},
			}
			for _, c := range cases {
				b, err := json.Marshal(map[string]any{"input": []int{c.len}, "x": c.toks, "want": c.want, "tokens": true, "relative": true, "tolerance": tolerance})
				if err != nil {
					t.Fatal(err)
				}
				runScript(t, py, "onnx_eval.py", file, writeFile(t, dir, c.name, b))
			}
		})
	}
}

// TestONNXTransformerOps: the transformer graph uses opset 13's ops only
// (no Trilu or LayerNormalization) and its head reads the tied tok.weight
// (no second copy).
func TestONNXTransformerOps(t *testing.T) {
	em, _ := trained(t, tfSpecs[0].spec, 1)
	mp, err := export.ONNX(em, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]bool{}
	for _, n := range mp.Graph.Node {
		ops[n.OpType] = true
	}
	for _, op := range []string{"Trilu", "LayerNormalization", "Gelu"} {
		if ops[op] {
			t.Errorf("the graph has %s (not in opset 13)", op)
		}
	}
	var names []string
	for _, in := range mp.Graph.Initializer {
		names = append(names, in.Name)
	}
	if n := strings.Count(strings.Join(names, " "), "tok.weight"); n != 1 {
		t.Errorf("%d initializers named tok.weight, want 1: %v", n, names)
	}
	if got := mp.Graph.Input[0].Type.GetTensorType().GetElemType(); got != 7 { // INT64
		t.Errorf("input element type %d, want int64 (7)", got)
	}
}

// trainedGPT is trained with the attention and MLP weights made larger
// (qkv ×8, the projections and the MLP ×4), so that the attention weights
// are far from uniform and the blocks move the logits as after training:
// a wrong attention scale or mask changes the logits by far more than the
// tolerance.
func trainedGPT(t *testing.T, spec model.Spec, seed uint64) (export.Model, *model.Model) {
	t.Helper()
	em, rm := trained(t, spec, seed)
	p := rm.Params()
	for _, tt := range rm.Layout() {
		k := float32(1)
		switch {
		case strings.HasSuffix(tt.Name, "attn.qkv.weight"):
			k = 8
		case strings.HasSuffix(tt.Name, "proj.weight"), strings.HasSuffix(tt.Name, "mlp.fc.weight"):
			k = 4
		}
		for j := tt.Offset; j < tt.Offset+tt.Size(); j++ {
			p[j] *= k
		}
	}
	copy(em.Params, p)
	return em, rm
}
