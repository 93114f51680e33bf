package export_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/advancedclimatesystems/gonnx"
	"gorgonia.org/tensor"

	"github.com/ringtrain/ringtrain/export"
	"github.com/ringtrain/ringtrain/model"
)

// tolerance bounds |log-softmax(exported) − log-softmax(ringtrain)|.
const tolerance = 1e-5

func onnxBytes(t *testing.T, m export.Model, meta map[string]string) []byte {
	t.Helper()
	mp, err := export.ONNX(m, testScale, meta)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := export.WriteONNX(&b, mp); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestONNXRunByGonnx runs the exported MLP graphs (Mul, Flatten, Gemm,
// Relu: ops gonnx has) with gonnx's runtime on raw inputs and compares
// them with ringtrain's outputs.
func TestONNXRunByGonnx(t *testing.T) {
	const n = 16
	for i, tc := range testSpecs {
		if tc.spec.Kind != model.KindMLP {
			continue // gonnx has no MaxPool: TestONNXCheckerAndNumpy runs the cnn graphs
		}
		t.Run(tc.name, func(t *testing.T) {
			em, rm := trained(t, tc.spec, uint64(i+1))
			g, err := gonnx.NewModelFromBytes(onnxBytes(t, em, nil))
			if err != nil {
				t.Fatal(err)
			}
			x := rawInputs(tc.spec, n, uint64(100+i))
			shape := append([]int{n}, tc.spec.Input...)
			out, err := g.Run(gonnx.Tensors{export.InputName: tensor.New(tensor.WithShape(shape...), tensor.WithBacking(x))})
			if err != nil {
				t.Fatal(err)
			}
			logits, ok := out[export.OutputName].Data().([]float32)
			if !ok || len(logits) != n*tc.spec.Classes {
				t.Fatalf("logits: %T of %v, want %d float32", out[export.OutputName].Data(), out[export.OutputName].Shape(), n*tc.spec.Classes)
			}
			want := referenceLogSoftmax(t, rm, x)
			for s := range n {
				got := logSoftmax(logits[s*tc.spec.Classes : (s+1)*tc.spec.Classes])
				for c := range got {
					if d := got[c] - want[s][c]; d > tolerance || d < -tolerance {
						t.Fatalf("sample %d class %d: gonnx %.7f, ringtrain %.7f", s, c, got[c], want[s][c])
					}
				}
			}
		})
	}
}

// evalCase is what testdata/onnx_eval.py and torch_load.py read: raw
// inputs, their per-sample shape, and ringtrain's log-softmax outputs.
type evalCase struct {
	Input     []int       `json:"input"`
	X         []float32   `json:"x"`
	Want      [][]float64 `json:"want"`
	Scale     float64     `json:"scale"`
	Tolerance float64     `json:"tolerance"`
}

func writeCase(t *testing.T, dir string, spec model.Spec, rm *model.Model, seed uint64) string {
	t.Helper()
	x := rawInputs(spec, 8, seed)
	b, err := json.Marshal(evalCase{Input: spec.Input, X: x, Want: referenceLogSoftmax(t, rm, x), Scale: testScale, Tolerance: tolerance})
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, "case.json", b)
}

// runScript runs a testdata script and fails the test with its output.
func runScript(t *testing.T, py, script string, args ...string) {
	t.Helper()
	out, err := exec.Command(py, append([]string{filepath.Join("testdata", script)}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", script, strings.Join(args, " "), err, out)
	}
	t.Logf("%s", out)
}

// TestONNXCheckerAndNumpy has ONNX's own checker (full check) and strict
// shape inference accept every export, and evaluates each graph with the
// numpy evaluator of testdata/onnx_eval.py (written from the ONNX operator
// specification: Mul, Conv, Relu, MaxPool, Flatten, Gemm) against
// ringtrain's outputs.
func TestONNXCheckerAndNumpy(t *testing.T) {
	py := requirePython(t, "REQUIRE_ONNX_CHECKER", "onnx", "numpy")
	for i, tc := range testSpecs {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			em, rm := trained(t, tc.spec, uint64(i+1))
			meta := map[string]string{"model_spec": `{"kind":"` + tc.spec.Kind + `"}`, export.KeyInputScale: "0.00392156862745098"}
			file := writeFile(t, dir, "model.onnx", onnxBytes(t, em, meta))
			runScript(t, py, "onnx_eval.py", file, writeCase(t, dir, tc.spec, rm, uint64(200+i)))
		})
	}
}
