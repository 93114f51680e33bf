package export_test

import (
	"encoding/json"
	"testing"

	"github.com/advancedclimatesystems/gonnx"
	"gorgonia.org/tensor"

	"github.com/ringtrain/ringtrain/export"
	"github.com/ringtrain/ringtrain/model"
)

// rnnSpecs are the recurrent language models the ONNX tests export. gonnx
// runs one LSTM node only (it finds an LSTM's output by the name "Y"):
// the two-layer LSTM is checked by the numpy evaluator alone.
var rnnSpecs = []struct {
	name  string
	spec  model.Spec
	gonnx bool
}{
	{"lstm", model.Spec{Kind: model.KindLSTM, Input: []int{6}, Classes: 7, Embed: 5, Hidden: []int{4}, Loss: model.LossXent}, true},
	{"lstm-2", model.Spec{Kind: model.KindLSTM, Input: []int{6}, Classes: 7, Embed: 5, Hidden: []int{4, 3}, Loss: model.LossXent}, false},
	{"gru-2", model.Spec{Kind: model.KindGRU, Input: []int{6}, Classes: 7, Embed: 5, Hidden: []int{4, 3}, Loss: model.LossXent}, true},
}

// TestONNXRecurrentRunByGonnx runs the exported LSTM and GRU graphs
// (Gather, Transpose, LSTM/GRU, Squeeze, MatMul, Add) with gonnx on token
// sequences and compares every position's logits with ringtrain's
// NextLogits of the sequence up to it (the models are causal).
func TestONNXRecurrentRunByGonnx(t *testing.T) {
	const n = 3
	for i, tc := range rnnSpecs {
		if !tc.gonnx {
			continue
		}
		spec := tc.spec
		t.Run(tc.name, func(t *testing.T) {
			em, rm := trained(t, spec, uint64(i+1))
			g, err := gonnx.NewModelFromBytes(onnxBytes(t, em, nil))
			if err != nil {
				t.Fatal(err)
			}
			ctx := spec.Input[0]
			r := splitmix(uint64(400 + i))
			tokens := make([]int64, n*ctx)
			for j := range tokens {
				tokens[j] = int64(r.next() % uint64(spec.Classes))
			}
			out, err := g.Run(gonnx.Tensors{export.InputName: tensor.New(tensor.WithShape(n, ctx), tensor.WithBacking(tokens))})
			if err != nil {
				t.Fatal(err)
			}
			logits, ok := out[export.OutputName].Data().([]float32)
			if !ok || len(logits) != n*ctx*spec.Classes {
				t.Fatalf("logits: %T of %v, want %d float32", out[export.OutputName].Data(), out[export.OutputName].Shape(), n*ctx*spec.Classes)
			}
			for s := range n {
				for p := range ctx {
					prefix := make([]int32, p+1)
					for j := range prefix {
						prefix[j] = int32(tokens[s*ctx+j])
					}
					want, err := rm.NextLogits(prefix)
					if err != nil {
						t.Fatal(err)
					}
					got := logits[(s*ctx+p)*spec.Classes : (s*ctx+p+1)*spec.Classes]
					for c := range want {
						if d := got[c] - want[c]; d > tolerance || d < -tolerance {
							t.Fatalf("sample %d position %d class %d: gonnx %.7f, ringtrain %.7f", s, p, c, got[c], want[c])
						}
					}
				}
			}
		})
	}
}

// tokens returns n sequences of ctx random token ids.
func tokens(spec model.Spec, n int, seed uint64) []int64 {
	r := splitmix(seed)
	out := make([]int64, n*spec.Input[0])
	for j := range out {
		out[j] = int64(r.next() % uint64(spec.Classes))
	}
	return out
}

// nextLogits returns ringtrain's logits at every position of each
// sequence ([n][ctx·Classes]): NextLogits of the sequence up to it.
func nextLogits(t *testing.T, m *model.Model, toks []int64, ctx int) [][]float64 {
	t.Helper()
	var out [][]float64
	for s := range len(toks) / ctx {
		var row []float64
		for p := range ctx {
			prefix := make([]int32, p+1)
			for j := range prefix {
				prefix[j] = int32(toks[s*ctx+j])
			}
			z, err := m.NextLogits(prefix)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range z {
				row = append(row, float64(v))
			}
		}
		out = append(out, row)
	}
	return out
}

// TestONNXRecurrentCheckerAndNumpy: ONNX's checker and strict shape
// inference accept the LSTM and GRU exports, and the numpy evaluator
// gives ringtrain's logits at every position.
func TestONNXRecurrentCheckerAndNumpy(t *testing.T) {
	py := requirePython(t, "REQUIRE_ONNX_CHECKER", "onnx", "numpy")
	for i, tc := range rnnSpecs {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			em, rm := trained(t, tc.spec, uint64(i+1))
			file := writeFile(t, dir, "model.onnx", onnxBytes(t, em, map[string]string{"architecture": tc.spec.Kind}))
			toks := tokens(tc.spec, 3, uint64(500+i))
			want := nextLogits(t, rm, toks, tc.spec.Input[0])
			b, err := json.Marshal(map[string]any{"input": tc.spec.Input, "x": toks, "want": reshape(want, tc.spec.Input[0], tc.spec.Classes),
				"tokens": true, "tolerance": tolerance})
			if err != nil {
				t.Fatal(err)
			}
			runScript(t, py, "onnx_eval.py", file, writeFile(t, dir, "case.json", b))
		})
	}
}

// reshape turns [n][ctx·classes] into [n][ctx][classes].
func reshape(rows [][]float64, ctx, classes int) [][][]float64 {
	out := make([][][]float64, len(rows))
	for s, r := range rows {
		for p := range ctx {
			out[s] = append(out[s], r[p*classes:(p+1)*classes])
		}
	}
	return out
}
