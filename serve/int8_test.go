package serve_test

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/model"
	"github.com/ringtrain/ringtrain/quant"
	"github.com/ringtrain/ringtrain/serve"
)

// writeInt8 quantizes spec's initialized model (calibrated on calib) and
// writes it as an int8 export with input_scale 0.5; it returns the path
// and the quantized model.
func writeInt8(t *testing.T, spec model.Spec, calib []float32, meta map[string]string) (string, *quant.Model) {
	t.Helper()
	q, err := quant.Quantize(spec, initParams(t, spec, 3), calib)
	if err != nil {
		t.Fatal(err)
	}
	specJSON, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{"format": "ringtrain.export.v1", "step": "7", "model_spec": string(specJSON), "input_scale": "0.5"}
	if err := q.AddMeta(m); err != nil {
		t.Fatal(err)
	}
	for k, v := range meta {
		m[k] = v
	}
	var b bytes.Buffer
	if err := checkpoint.WriteExport(&b, q.Tensors(), m); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m-int8.safetensors")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, q
}

// TestInt8File: LoadFile recognizes an int8 export and the Predictor runs
// the int8 model on raw inputs times input_scale; a file whose int8
// metadata is damaged is refused naming it.
func TestInt8File(t *testing.T) {
	for _, spec := range []model.Spec{mlpSpec, cnnSpec} {
		r := rand.New(rand.NewPCG(1, 2))
		raw := make([]float32, 5*spec.InputSize())
		for i := range raw {
			raw[i] = float32(r.Float64() * 2)
		}
		scaled := make([]float32, len(raw))
		for i, v := range raw {
			scaled[i] = v * 0.5
		}
		path, q := writeInt8(t, spec, scaled, nil)
		snap, err := serve.LoadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if snap.Quant == nil || snap.Params != nil || snap.Step != 7 {
			t.Fatalf("%s: snapshot quant %v, %d params, step %d", spec.Kind, snap.Quant != nil, len(snap.Params), snap.Step)
		}
		p, err := serve.NewPredictor(snap, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Warm(8); err != nil {
			t.Fatal(err)
		}
		logits, probs, err := p.Predict(raw)
		if err != nil {
			t.Fatal(err)
		}
		want, err := q.Forward(scaled)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if math.Float32bits(logits[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s: logit %d = %v, the int8 model's %v", spec.Kind, i, logits[i], want[i])
			}
		}
		if len(probs) != len(want) {
			t.Fatalf("%s: %d probabilities, want %d", spec.Kind, len(probs), len(want))
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
	}
	calib := make([]float32, 3*mlpSpec.InputSize())
	for _, tc := range []struct {
		meta map[string]string
		want string
	}{
		{map[string]string{"quantization": "int4"}, `quantization "int4"`},
		{map[string]string{"quant_activation_scales": `{"fc0":1}`}, "fc1 is 0"},
	} {
		path, _ := writeInt8(t, mlpSpec, calib, tc.meta)
		if _, err := serve.LoadFile(path); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%v: %v, want an error naming %s and %q", tc.meta, err, path, tc.want)
		}
	}
}
