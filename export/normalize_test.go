package export_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/advancedclimatesystems/gonnx"
	"gorgonia.org/tensor"

	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/export"
	"github.com/ringtrain/ringtrain/model"
	"github.com/ringtrain/ringtrain/quant"
)

// testNorm is a standard-like map for spec's inputs: shifts around the
// raw inputs' scaled mean, factors of various sizes.
func testNorm(spec model.Spec, seed uint64) *data.Norm {
	r := splitmix(seed)
	n := &data.Norm{Kind: data.NormStandard, Shift: make([]float32, spec.InputSize()), Factor: make([]float32, spec.InputSize())}
	for j := range n.Shift {
		n.Shift[j] = float32(0.3 + 0.4*r.unit())
		n.Factor[j] = float32(0.5 + 4*r.unit())
	}
	return n
}

// normMeta is the metadata of an export trained with n.
func normMeta(t *testing.T, n *data.Norm) map[string]string {
	t.Helper()
	b, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{export.KeyInputScale: "0.00392156862745098", export.KeyInputNormalization: string(b)}
}

// normalizedLogSoftmax is ringtrain's output for raw inputs x under the
// map: (x·testScale - shift)·factor in float32, as training prepared the
// samples and the graph's Mul, Sub, Mul compute.
func normalizedLogSoftmax(t *testing.T, m *model.Model, n *data.Norm, x []float32) [][]float64 {
	t.Helper()
	in := make([]float32, len(x))
	for j, v := range x {
		in[j] = v * float32(testScale)
	}
	n.Apply(in)
	return modelLogSoftmax(t, m, in)
}

// The ONNX graph of a model trained on normalized inputs takes raw
// inputs: gonnx runs the mlp graphs (Mul, Sub, Mul per input value) to
// ringtrain's outputs on the normalized inputs.
func TestONNXNormalizationRunByGonnx(t *testing.T) {
	const n = 12
	for i, tc := range testSpecs {
		if tc.spec.Kind != model.KindMLP {
			continue // gonnx has no MaxPool; the numpy test runs the cnn graphs
		}
		t.Run(tc.name, func(t *testing.T) {
			em, rm := trained(t, tc.spec, uint64(i+1))
			norm := testNorm(tc.spec, uint64(50+i))
			g, err := gonnx.NewModelFromBytes(onnxBytes(t, em, normMeta(t, norm)))
			if err != nil {
				t.Fatal(err)
			}
			x := rawInputs(tc.spec, n, uint64(300+i))
			shape := append([]int{n}, tc.spec.Input...)
			out, err := g.Run(gonnx.Tensors{export.InputName: tensor.New(tensor.WithShape(shape...), tensor.WithBacking(x))})
			if err != nil {
				t.Fatal(err)
			}
			logits := out[export.OutputName].Data().([]float32)
			want := normalizedLogSoftmax(t, rm, norm, x)
			plain := referenceLogSoftmax(t, rm, x)
			differs := false
			for s := range n {
				got := logSoftmax(logits[s*tc.spec.Classes : (s+1)*tc.spec.Classes])
				for c := range got {
					if d := got[c] - want[s][c]; d > tolerance || d < -tolerance {
						t.Fatalf("sample %d class %d: gonnx %.7f, ringtrain %.7f", s, c, got[c], want[s][c])
					}
					differs = differs || got[c]-plain[s][c] > 1e-3 || plain[s][c]-got[c] > 1e-3
				}
			}
			if !differs {
				t.Fatal("the normalization changed nothing: the test proves nothing")
			}
		})
	}
}

// The numpy evaluator (onnx_eval.py, from the operator specification)
// runs every feed-forward graph with normalization, cnn included.
func TestONNXNormalizationNumpy(t *testing.T) {
	py := requirePython(t, "REQUIRE_ONNX_CHECKER", "onnx", "numpy")
	for i, tc := range testSpecs {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			em, rm := trained(t, tc.spec, uint64(i+1))
			norm := testNorm(tc.spec, uint64(60+i))
			file := writeFile(t, dir, "model.onnx", onnxBytes(t, em, normMeta(t, norm)))
			x := rawInputs(tc.spec, 8, uint64(400+i))
			b, err := json.Marshal(evalCase{Input: tc.spec.Input, X: x, Want: normalizedLogSoftmax(t, rm, norm, x), Scale: testScale, Tolerance: tolerance})
			if err != nil {
				t.Fatal(err)
			}
			runScript(t, py, "onnx_eval.py", file, writeFile(t, dir, "case.json", b))
		})
	}
}

// A map for another input size, or one that does not parse, is refused
// naming the key.
func TestONNXNormalizationRefused(t *testing.T) {
	tc := testSpecs[1]
	em, _ := trained(t, tc.spec, 1)
	for name, v := range map[string]string{
		"size":  `{"kind":"standard","shift":[0],"factor":[1]}`,
		"bytes": `{"kind":`,
	} {
		_, err := export.ONNX(em, testScale, map[string]string{export.KeyInputNormalization: v})
		if err == nil || !strings.Contains(err.Error(), export.KeyInputNormalization) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// The layers graphs (but an embedding net's, whose inputs are token ids)
// and the int8 graphs apply the map too, to the numpy evaluator.
func TestONNXNormalizationLayersAndInt8Numpy(t *testing.T) {
	py := requirePython(t, "REQUIRE_ONNX_CHECKER", "onnx", "numpy")
	for i, tc := range layersSpecs {
		if tc.spec.Net[0].Type == model.LayerEmbedding {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			em, rm := trained(t, tc.spec, uint64(i+1))
			norm := testNorm(tc.spec, uint64(70+i))
			file := writeFile(t, dir, "model.onnx", onnxBytes(t, em, normMeta(t, norm)))
			x := rawInputs(tc.spec, 6, uint64(900+i))
			in := make([]float32, len(x))
			for j, v := range x {
				in[j] = v * float32(testScale)
			}
			norm.Apply(in)
			want := layersReference(t, rm, []int64{}, in) // non-nil tokens: in is taken as the model input, unscaled
			b, err := json.Marshal(map[string]any{"input": tc.spec.Input, "x": x, "want": want, "relative": true, "tolerance": tolerance})
			if err != nil {
				t.Fatal(err)
			}
			runScript(t, py, "onnx_eval.py", file, writeFile(t, dir, "case.json", b))
		})
	}
	for i, tc := range testSpecs {
		t.Run(tc.name+"-int8", func(t *testing.T) {
			dir := t.TempDir()
			em, _ := trained(t, tc.spec, uint64(i+1))
			norm := testNorm(tc.spec, uint64(80+i))
			prepared := func(raw []float32) []float32 {
				out := make([]float32, len(raw))
				for j, v := range raw {
					out[j] = v * float32(testScale)
				}
				norm.Apply(out)
				return out
			}
			q, err := quant.Quantize(tc.spec, em.Params, prepared(rawInputs(tc.spec, 64, uint64(310+i))))
			if err != nil {
				t.Fatal(err)
			}
			checkInt8ONNX(t, py, dir, tc.spec, q, normMeta(t, norm), prepared, uint64(210+i))
		})
	}
}
