package export_test

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/export"
	"github.com/ringtrain/ringtrain/model"
)

// testScale is the input scale of the tests' exports (MNIST's 1/255):
// raw inputs are in [0, 255).
const testScale = 1.0 / 255

// testSpecs are the networks the tests export: an MLP of an image, a
// softmax regression of a flat input, LeNet CNNs of one and two channels
// (non-square).
var testSpecs = []struct {
	name string
	spec model.Spec
}{
	{"mlp", model.Spec{Kind: model.KindMLP, Input: []int{1, 6, 6}, Hidden: []int{12, 8}, Classes: 5, Loss: model.LossXent}},
	{"mlp-flat", model.Spec{Kind: model.KindMLP, Input: []int{10}, Classes: 3, Loss: model.LossXent}},
	{"cnn", model.Spec{Kind: model.KindCNN, Input: []int{1, 14, 14}, Hidden: []int{20}, Classes: 4, Loss: model.LossXent}},
	{"cnn-2ch", model.Spec{Kind: model.KindCNN, Input: []int{2, 12, 13}, Hidden: []int{9, 7}, Classes: 3, Loss: model.LossXent}},
}

// splitmix is a deterministic generator for test data.
type splitmix uint64

func (r *splitmix) next() uint64 {
	*r += 0x9e3779b97f4a7c15
	z := uint64(*r)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// unit is uniform in [0, 1).
func (r *splitmix) unit() float64 { return float64(r.next()>>11) / (1 << 53) }

// trained returns spec's initialized model with every parameter moved by
// up to ±0.1 (so biases are not zero, as after training).
func trained(t *testing.T, spec model.Spec, seed uint64) (export.Model, *model.Model) {
	t.Helper()
	m, err := model.New(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	r := splitmix(seed)
	p := m.Params()
	for i := range p {
		p[i] += float32(0.2*r.unit() - 0.1)
	}
	return export.Model{Spec: spec, Params: append([]float32(nil), p...)}, m
}

// rawInputs returns n samples of raw values in [0, 255).
func rawInputs(spec model.Spec, n int, seed uint64) []float32 {
	r := splitmix(seed)
	x := make([]float32, n*spec.InputSize())
	for i := range x {
		x[i] = float32(255 * r.unit())
	}
	return x
}

// referenceLogSoftmax returns ringtrain's outputs for raw inputs x as
// log-softmax rows (float64): the model sees x·testScale (float32, as
// the ONNX graph's Mul computes it).
func referenceLogSoftmax(t *testing.T, m *model.Model, x []float32) [][]float64 {
	t.Helper()
	scaled := make([]float32, len(x))
	for j, v := range x {
		scaled[j] = v * float32(testScale)
	}
	return modelLogSoftmax(t, m, scaled)
}

// modelLogSoftmax returns the model's outputs for inputs x (as the model
// sees them) as log-softmax rows (float64): Evaluate of one sample with
// label c is −log softmax(logits)[c], computed in float64 from the
// model's float32 logits. (The logits themselves are these rows plus a
// per-sample constant; model.Forward returns them directly.)
func modelLogSoftmax(t *testing.T, m *model.Model, x []float32) [][]float64 {
	t.Helper()
	spec := m.Spec()
	in := spec.InputSize()
	n := len(x) / in
	out := make([][]float64, n)
	for i := range n {
		out[i] = make([]float64, spec.Classes)
		for c := range spec.Classes {
			loss, _, err := m.Evaluate(x[i*in:(i+1)*in], []int32{int32(c)})
			if err != nil {
				t.Fatal(err)
			}
			out[i][c] = -loss
		}
	}
	return out
}

// logSoftmax of one row of logits, in float64.
func logSoftmax(z []float32) []float64 {
	top := math.Inf(-1)
	for _, v := range z {
		top = max(top, float64(v))
	}
	var sum float64
	for _, v := range z {
		sum += math.Exp(float64(v) - top)
	}
	out := make([]float64, len(z))
	for i, v := range z {
		out[i] = float64(v) - top - math.Log(sum)
	}
	return out
}

// python returns a Python 3 that imports every module, trying
// /usr/bin/python3 (Debian's packages) and then python3 on PATH; "" if
// none does.
func python(modules ...string) string {
	imp := "import " + strings.Join(modules, ", ")
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", imp).Run() == nil {
			return p
		}
	}
	return ""
}

// requirePython returns python(modules...) or skips the test, failing it
// instead when the environment variable require is 1 (CI).
func requirePython(t *testing.T, require string, modules ...string) string {
	t.Helper()
	p := python(modules...)
	if p == "" {
		msg := "no python3 that imports " + strings.Join(modules, ", ")
		if os.Getenv(require) == "1" {
			t.Fatalf("%s (%s=1: install them; .ci/run installs python3-onnx python3-numpy)", msg, require)
		}
		t.Skip(msg + ": skipped")
	}
	return p
}

// writeFile writes b to name in dir and returns its path.
func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
