package quant

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/model"
)

var testSpecs = map[string]model.Spec{
	"mlp": {Kind: model.KindMLP, Hidden: []int{32, 16}, Input: []int{2, 10}, Classes: 5, Loss: model.LossXent},
	"cnn": {Kind: model.KindCNN, Hidden: []int{24}, Input: []int{2, 14, 13}, Classes: 4, Loss: model.LossXent},
	"layers": {Kind: model.KindLayers, Input: []int{1, 12, 12}, Classes: 3, Loss: model.LossXent, Net: []model.Layer{
		{Type: model.LayerConv2D, Out: 4, Kernel: 3, Pad: 1, Stride: 2},
		{Type: model.LayerGELU},
		{Type: model.LayerMaxPool, Size: 2},
		{Type: model.LayerConv2D, Out: 5, Kernel: 2, NoBias: true},
		{Type: model.LayerTanh},
		{Type: model.LayerFlatten},
		{Type: model.LayerDropout, P: 0.1},
		{Type: model.LayerLinear, Out: 8},
		{Type: model.LayerReLU},
		{Type: model.LayerLinear, Out: 3, NoBias: true},
	}},
}

// floatModel returns spec's initialized parameters and n random inputs in
// [0, 1), and the model (closed by the test's cleanup).
func floatModel(t testing.TB, spec model.Spec, n int) (*model.Model, []float32) {
	t.Helper()
	m, err := model.New(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if err := model.InitParams(spec, m.Params(), 42); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(11, 12))
	x := make([]float32, n*spec.InputSize())
	for i := range x {
		x[i] = float32(r.Float64())
	}
	return m, x
}

// TestFloatPathMatchesModel: quant's float32 pass (what calibration
// records) computes what model.Forward does.
func TestFloatPathMatchesModel(t *testing.T) {
	for name, spec := range testSpecs {
		t.Run(name, func(t *testing.T) {
			fm, x := floatModel(t, spec, 20)
			want, err := fm.Forward(x)
			if err != nil {
				t.Fatal(err)
			}
			q, err := Quantize(spec, fm.Params(), x)
			if err != nil {
				t.Fatal(err)
			}
			got, err := q.forward(x, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("logit %d: %v, model.Forward %v", i, got[i], want[i])
				}
			}
		})
	}
}

// TestInt8AgreesWithFloat: the int8 model's logits stay close to the
// float model's and its predictions agree on most inputs (calibrated on
// other inputs than the ones compared).
func TestInt8AgreesWithFloat(t *testing.T) {
	for name, spec := range testSpecs {
		t.Run(name, func(t *testing.T) {
			fm, x := floatModel(t, spec, 600)
			in := spec.InputSize()
			calib, test := x[:200*in], x[200*in:]
			q, err := Quantize(spec, fm.Params(), calib)
			if err != nil {
				t.Fatal(err)
			}
			if q.CalibrationSamples() != 200 {
				t.Fatalf("calibration samples %d, want 200", q.CalibrationSamples())
			}
			want, err := fm.Forward(test)
			if err != nil {
				t.Fatal(err)
			}
			got, err := q.Forward(test)
			if err != nil {
				t.Fatal(err)
			}
			c := spec.Classes
			agree, n := 0, len(test)/in
			var errSum, refSum float64
			for i := range n {
				if argmax(got[i*c:(i+1)*c]) == argmax(want[i*c:(i+1)*c]) {
					agree++
				}
				for j := i * c; j < (i+1)*c; j++ {
					errSum += math.Abs(float64(got[j] - want[j]))
					refSum += math.Abs(float64(want[j]))
				}
			}
			t.Logf("%s: %d of %d predictions agree, mean |logit error| %.4f of mean |logit| %.4f", name, agree, n, errSum/float64(n*c), refSum/float64(n*c))
			if agree < n*9/10 {
				t.Errorf("%d of %d predictions agree with the float model, want >= 90%%", agree, n)
			}
			if errSum > 0.1*refSum {
				t.Errorf("mean logit error %.4f is more than 10%% of the mean |logit| %.4f", errSum/float64(n*c), refSum/float64(n*c))
			}
		})
	}
}

func argmax(row []float32) int {
	best := 0
	for i, v := range row {
		if v > row[best] {
			best = i
		}
	}
	return best
}

// exportOf writes q as an export file and reads it back.
func exportOf(t *testing.T, q *Model) *checkpoint.Exported {
	t.Helper()
	meta := map[string]string{"format": "ringtrain.export.v1"}
	if err := q.AddMeta(meta); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := checkpoint.WriteExport(&b, q.Tensors(), meta); err != nil {
		t.Fatal(err)
	}
	e, err := checkpoint.ReadExport(bytes.NewReader(b.Bytes()), int64(b.Len()))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestExportRoundTrip: a quantized model written and read back computes
// bit for bit the same logits, with the same scales and sample count; its
// weights are I8 in the float layout's names and shapes.
func TestExportRoundTrip(t *testing.T) {
	for name, spec := range testSpecs {
		t.Run(name, func(t *testing.T) {
			fm, x := floatModel(t, spec, 50)
			q, err := Quantize(spec, fm.Params(), x)
			if err != nil {
				t.Fatal(err)
			}
			e := exportOf(t, q)
			layout, _, err := model.Layout(spec)
			if err != nil {
				t.Fatal(err)
			}
			weights := 0
			for _, lt := range layout {
				if strings.HasSuffix(lt.Name, ".weight") {
					weights++
				}
			}
			if len(e.I8) != weights || e.I8[0].Name != layout[0].Name {
				t.Fatalf("I8 tensors %d (first %s), want the %d weights (first %s)", len(e.I8), e.I8[0].Name, weights, layout[0].Name)
			}
			back, err := Load(spec, e)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := q.Forward(x)
			got, err := back.Forward(x)
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("logit %d: %v after the round trip, %v before", i, got[i], want[i])
				}
			}
			if back.CalibrationSamples() != 50 {
				t.Errorf("calibration samples %d, want 50", back.CalibrationSamples())
			}
		})
	}
}

// TestLoadRejects: a damaged int8 file is refused naming what is wrong.
func TestLoadRejects(t *testing.T) {
	spec := testSpecs["mlp"]
	fm, x := floatModel(t, spec, 10)
	q, err := Quantize(spec, fm.Params(), x)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		damage func(e *checkpoint.Exported)
		want   string
	}{
		{"not int8", func(e *checkpoint.Exported) { e.Meta[KeyQuantization] = "int4" }, "quantization"},
		{"scales not JSON", func(e *checkpoint.Exported) { e.Meta[KeyActivationScales] = "[" }, KeyActivationScales},
		{"scale missing", func(e *checkpoint.Exported) { e.Meta[KeyActivationScales] = `{"fc0":0.1,"fc1":0.1}` }, "fc2 is 0"},
		{"scale negative", func(e *checkpoint.Exported) { e.Meta[KeyActivationScales] = `{"fc0":0.1,"fc1":-1,"fc2":1}` }, "fc1 is -1"},
		{"extra scale", func(e *checkpoint.Exported) {
			e.Meta[KeyActivationScales] = `{"fc0":0.1,"fc1":1,"fc2":1,"fc9":1}`
		}, "activation scales"},
		{"samples", func(e *checkpoint.Exported) { e.Meta[KeyCalibrationSamples] = "0" }, KeyCalibrationSamples},
		{"weight shape", func(e *checkpoint.Exported) { e.I8[1].Shape = []int{16, 33} }, "fc1.weight"},
		{"weight scale", func(e *checkpoint.Exported) { e.Params[e.Layout[0].Offset] = float32(math.NaN()) }, "fc0.weight_scale[0]"},
		{"bias missing", func(e *checkpoint.Exported) { e.Layout[1].Name = "fc0.biasx" }, "fc0.bias"},
	} {
		e := exportOf(t, q)
		tc.damage(e)
		if _, err := Load(spec, e); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %q", tc.name, err, tc.want)
		}
	}
}

// TestQuantizeRefuses: other kinds and layer types, and bad calibration
// inputs, are refused clearly.
func TestQuantizeRefuses(t *testing.T) {
	tfm := model.Spec{Kind: model.KindTransformer, Input: []int{8}, Classes: 10, Loss: model.LossXent, Embed: 8, Layers: 1, Heads: 2}
	if _, err := Quantize(tfm, nil, nil); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "transformer") {
		t.Errorf("transformer: %v, want ErrUnsupported naming the kind", err)
	}
	ln := model.Spec{Kind: model.KindLayers, Input: []int{6}, Classes: 3, Loss: model.LossXent, Net: []model.Layer{
		{Type: model.LayerLinear, Out: 4}, {Type: model.LayerLayerNorm}, {Type: model.LayerLinear, Out: 3},
	}}
	if _, err := Quantize(ln, nil, nil); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "layers[1] is a layernorm") {
		t.Errorf("layernorm: %v, want ErrUnsupported naming layers[1]", err)
	}
	spec := testSpecs["mlp"]
	fm, x := floatModel(t, spec, 2)
	if _, err := Quantize(spec, fm.Params(), x[:7]); err == nil || !strings.Contains(err.Error(), "calibration") {
		t.Errorf("7 calibration values: %v, want an error", err)
	}
	if _, err := Quantize(spec, fm.Params()[1:], x); err == nil || !strings.Contains(err.Error(), "parameters") {
		t.Errorf("short parameters: %v, want an error", err)
	}
	q, err := Quantize(spec, fm.Params(), x)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Forward(x[:5]); err == nil {
		t.Error("Forward of 5 values: no error")
	}
}
