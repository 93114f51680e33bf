package export_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/advancedclimatesystems/gonnx"
	"gorgonia.org/tensor"

	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/export"
	"github.com/ringtrain/ringtrain/model"
)

// mnistTest returns the first n samples of the embedded MNIST test set:
// as ringtrain's loader gives them (v/255) and as raw pixels (v).
func mnistTest(t *testing.T, n int) (scaled, raw []float32) {
	t.Helper()
	_, test, err := data.Default()
	if err != nil {
		t.Fatal(err)
	}
	scaled = test.X[:n*test.Dim]
	raw = make([]float32, len(scaled))
	for i, v := range scaled {
		raw[i] = float32(math.Round(float64(v) * 255))
	}
	return scaled, raw
}

// TestONNXOnMNISTTestSamples exports the default MNIST networks (the mlp
// 784-256-10 and the LeNet cnn) and runs the graphs on raw test-set pixels
// (0..255): gonnx for the mlp, the numpy evaluator for the cnn (when
// python3 has onnx and numpy). Their outputs equal ringtrain's on the
// same samples as its loader scales them (v/255; the graph's Mul by
// float32(1/255) may differ from the division by an ulp).
func TestONNXOnMNISTTestSamples(t *testing.T) {
	const n = 32
	scaled, raw := mnistTest(t, n)
	mlp := model.Spec{Kind: model.KindMLP, Input: []int{1, 28, 28}, Hidden: []int{256}, Classes: 10, Loss: model.LossXent}
	em, rm := trained(t, mlp, 11)
	g, err := gonnx.NewModelFromBytes(onnxBytes(t, em, nil))
	if err != nil {
		t.Fatal(err)
	}
	out, err := g.Run(gonnx.Tensors{export.InputName: tensor.New(tensor.WithShape(n, 1, 28, 28), tensor.WithBacking(raw))})
	if err != nil {
		t.Fatal(err)
	}
	logits, ok := out[export.OutputName].Data().([]float32)
	if !ok || len(logits) != n*10 {
		t.Fatalf("logits: %T", out[export.OutputName].Data())
	}
	want := modelLogSoftmax(t, rm, scaled)
	for s := range n {
		got := logSoftmax(logits[s*10 : (s+1)*10])
		for c := range got {
			if d := math.Abs(got[c] - want[s][c]); d > tolerance {
				t.Fatalf("mlp: test sample %d class %d: gonnx %.7f, ringtrain %.7f", s, c, got[c], want[s][c])
			}
		}
	}

	py := requirePython(t, "REQUIRE_ONNX_CHECKER", "onnx", "numpy")
	cnn := model.Spec{Kind: model.KindCNN, Input: []int{1, 28, 28}, Classes: 10, Loss: model.LossXent}
	em, rm = trained(t, cnn, 12)
	const k = 8 // the numpy convolution is slow
	dir := t.TempDir()
	file := writeFile(t, dir, "cnn.onnx", onnxBytes(t, em, nil))
	b, err := json.Marshal(evalCase{Input: cnn.Input, X: raw[:k*784], Want: modelLogSoftmax(t, rm, scaled[:k*784]), Scale: testScale, Tolerance: tolerance})
	if err != nil {
		t.Fatal(err)
	}
	runScript(t, py, "onnx_eval.py", file, writeFile(t, dir, "case.json", b))
}
