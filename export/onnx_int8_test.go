package export_test

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"

	"github.com/ringtrain/ringtrain/export"
	"github.com/ringtrain/ringtrain/model"
	"github.com/ringtrain/ringtrain/quant"
)

// int8Tolerance bounds |log-softmax(ONNX int8 graph) − log-softmax(quant's
// int8 model)|: the graph's float sums of dequantized products differ from
// the exact int32 sums in the last bits only (an input value that far from
// a rounding tie quantizes the same way in both).
const int8Tolerance = 1e-4

// TestONNXInt8CheckerAndNumpy quantizes each mlp and cnn test model, and
// has ONNX's checker and strict shape inference accept its QDQ graph and
// the numpy evaluator (QuantizeLinear, DequantizeLinear from the operator
// specification) compute the int8 model's outputs from raw inputs.
func TestONNXInt8CheckerAndNumpy(t *testing.T) {
	py := requirePython(t, "REQUIRE_ONNX_CHECKER", "onnx", "numpy")
	for i, tc := range testSpecs {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			em, _ := trained(t, tc.spec, uint64(i+1))
			scaled := func(raw []float32) []float32 {
				out := make([]float32, len(raw))
				for j, v := range raw {
					out[j] = v * float32(testScale)
				}
				return out
			}
			q, err := quant.Quantize(tc.spec, em.Params, scaled(rawInputs(tc.spec, 64, uint64(300+i))))
			if err != nil {
				t.Fatal(err)
			}
			checkInt8ONNX(t, py, dir, tc.spec, q, map[string]string{"quantization": "int8"}, scaled, uint64(200+i))
		})
	}
}

// TestONNXInt8Refuses: other kinds, and tensors that are not an int8
// model's, are refused.
func TestONNXInt8Refuses(t *testing.T) {
	lstm := model.Spec{Kind: model.KindLSTM, Input: []int{8}, Classes: 5, Loss: model.LossXent, Embed: 4, Hidden: []int{6}}
	if _, err := export.ONNXInt8(export.Int8Model{Spec: lstm}, 1, nil); err == nil {
		t.Error("an lstm: no error")
	}
	spec := testSpecs[0].spec
	em, _ := trained(t, spec, 1)
	q, err := quant.Quantize(spec, em.Params, make([]float32, spec.InputSize()))
	if err != nil {
		t.Fatal(err)
	}
	ts := q.Tensors()
	ts[0].I8, ts[0].Data = nil, make([]float32, len(ts[0].I8)) // a float weight
	if _, err := export.ONNXInt8(export.Int8Model{Spec: spec, Tensors: ts, ActivationScales: q.ActivationScales()}, 1, nil); err == nil {
		t.Error("an F32 weight: no error")
	}
	if _, err := export.ONNXInt8(export.Int8Model{Spec: spec, Tensors: q.Tensors()}, math.NaN(), nil); err == nil {
		t.Error("scale NaN: no error")
	}
}

// checkInt8ONNX writes q's ONNX export (with meta) and has the numpy
// evaluator run it on 8 raw inputs drawn from seed, against q's own forward
// pass on prepare(raw): the graph must turn raw inputs into what q saw.
func checkInt8ONNX(t *testing.T, py, dir string, spec model.Spec, q *quant.Model, meta map[string]string, prepare func([]float32) []float32, seed uint64) {
	t.Helper()
	mp, err := export.ONNXInt8(export.Int8Model{Spec: spec, Tensors: q.Tensors(), ActivationScales: q.ActivationScales()}, testScale, meta)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := export.WriteONNX(&b, mp); err != nil {
		t.Fatal(err)
	}
	x := rawInputs(spec, 8, seed)
	logits, err := q.Forward(prepare(x))
	if err != nil {
		t.Fatal(err)
	}
	var want [][]float64
	for s := range 8 {
		want = append(want, logSoftmax(logits[s*spec.Classes:(s+1)*spec.Classes]))
	}
	cb, err := json.Marshal(evalCase{Input: spec.Input, X: x, Want: want, Scale: testScale, Tolerance: int8Tolerance})
	if err != nil {
		t.Fatal(err)
	}
	runScript(t, py, "onnx_eval.py", writeFile(t, dir, "model-int8.onnx", b.Bytes()), writeFile(t, dir, "case.json", cb))
}
