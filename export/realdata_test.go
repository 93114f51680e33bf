package export_test

import (
	"encoding/json"
	"testing"

	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/model"
)

// TestKindsOnRealData exports a transformer of tiny Shakespeare's
// vocabulary and docs/examples/layers-cnn.yaml's network and compares
// their ONNX graphs (numpy evaluator) and torch layouts (PyTorch, when
// python3 imports torch) with ringtrain's Forward on real inputs: the
// first validation windows of tiny Shakespeare, the first test images of
// the embedded MNIST as raw pixels.
func TestKindsOnRealData(t *testing.T) {
	py := requirePython(t, "REQUIRE_ONNX_CHECKER", "onnx", "numpy")
	torchPy := python("torch", "numpy")
	text, err := data.Shakespeare()
	if err != nil {
		t.Fatal(err)
	}
	const ctx = 16
	gpt := model.Spec{Kind: model.KindTransformer, Input: []int{ctx}, Classes: text.Vocab.Len(), Embed: 16, Layers: 2, Heads: 4, Bias: true, Loss: model.LossXent}
	toks := make([]int64, 3*ctx)
	for i := range toks {
		toks[i] = int64(text.Val[i])
	}
	scaled, raw := mnistTest(t, 8)
	lenet := model.Spec{Kind: model.KindLayers, Input: []int{1, 28, 28}, Classes: 10, Loss: model.LossXent, Net: []model.Layer{
		{Type: model.LayerConv2D, Out: 6, Kernel: 5, Pad: 2}, {Type: model.LayerReLU}, {Type: model.LayerMaxPool, Size: 2},
		{Type: model.LayerConv2D, Out: 16, Kernel: 5}, {Type: model.LayerReLU}, {Type: model.LayerMaxPool, Size: 2},
		{Type: model.LayerFlatten}, {Type: model.LayerLinear, Out: 120}, {Type: model.LayerGELU}, {Type: model.LayerDropout, P: 0.1},
		{Type: model.LayerLayerNorm}, {Type: model.LayerLinear, Out: 10},
	}}
	for i, tc := range []struct {
		name string
		spec model.Spec
	}{{"transformer-shakespeare", gpt}, {"layers-cnn-mnist", lenet}} {
		t.Run(tc.name, func(t *testing.T) {
			em, rm := trained(t, tc.spec, uint64(20+i))
			if tc.spec.Kind == model.KindTransformer {
				em, rm = trainedGPT(t, tc.spec, uint64(20+i))
			}
			c := map[string]any{"input": tc.spec.Input, "relative": true, "tolerance": tolerance}
			if tc.spec.Kind == model.KindTransformer {
				c["x"], c["tokens"], c["want"] = toks, true, forwardLogits(t, rm, toks)
			} else {
				z, err := rm.Forward(scaled)
				if err != nil {
					t.Fatal(err)
				}
				want := make([][]float64, len(z)/10)
				for s := range want {
					for _, v := range z[s*10 : (s+1)*10] {
						want[s] = append(want[s], float64(v))
					}
				}
				c["x"], c["want"] = raw, want
			}
			b, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			cs := writeFile(t, dir, "case.json", b)
			runScript(t, py, "onnx_eval.py", writeFile(t, dir, "model.onnx", onnxBytes(t, em, nil)), cs)
			if torchPy == "" {
				t.Log("no python3 that imports torch: the torch layout is not loaded")
				return
			}
			runScript(t, torchPy, "torch_load.py", writeFile(t, dir, "model.safetensors", torchFile(t, em)), cs)
		})
	}
}
