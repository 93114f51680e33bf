package serve_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/serve"
)

// A model trained with data.normalize takes raw inputs: the predictor
// scales them by input_scale, then applies input_normalization, as
// training prepared its samples; a map of another size is refused.
func TestPredictorAppliesNormalization(t *testing.T) {
	params := initParams(t, mlpSpec, 3)
	norm := &data.Norm{Kind: data.NormStandard, Shift: []float32{100, -3, 0.5, 7, 1e4, 0}, Factor: []float32{0.01, 2, 1, 0.25, 1e-3, 1}}
	nj, err := data.MarshalNorm(norm)
	if err != nil {
		t.Fatal(err)
	}
	snap := &serve.Snapshot{Spec: mlpSpec, Params: params, Step: 7, Meta: map[string]string{"input_scale": "0.5", "input_normalization": string(nj)}}
	p, err := serve.NewPredictor(snap, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	raw := []float32{210, -4, 3, 20, 20100, 1, 190, 0, -1, 10, 19900, -1}
	logits, _, err := p.Predict(raw)
	if err != nil {
		t.Fatal(err)
	}
	in := slices.Clone(raw)
	for i := range in {
		in[i] *= 0.5
	}
	norm.Apply(in)
	if want := forward(t, mlpSpec, params, in); !slices.Equal(logits, want) {
		t.Fatalf("logits %v, want %v (the model on the normalized inputs)", logits, want)
	}
	if raw[0] != 210 {
		t.Fatal("Predict changed the caller's inputs")
	}
	snap.Meta["input_normalization"] = `{"kind":"standard","shift":[0],"factor":[1]}`
	if _, err := serve.NewPredictor(snap, 0); err == nil || !strings.Contains(err.Error(), "input_normalization") {
		t.Fatalf("a map of 1 value for 6 inputs: %v", err)
	}
}
