package job

import (
	"strings"
	"testing"
)

// TestLayersExampleParses: docs/examples/layers-cnn.yaml is a valid job of
// kind layers whose list survives a marshal round trip (what workers
// receive), bias defaulting to true.
func TestLayersExampleParses(t *testing.T) {
	s, err := Load("../docs/examples/layers-cnn.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Model.Kind != "layers" || len(s.Model.Layers) != 12 || s.Model.Hidden != nil {
		t.Fatalf("model %+v", s.Model)
	}
	if l := s.Model.Layers[0]; l.Type != "conv2d" || l.Out != 6 || l.Kernel != 5 || l.Pad != 2 || !l.HasBias() {
		t.Fatalf("layers[0] = %+v", l)
	}
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	b2, _ := back.Marshal()
	if Hash(b) != Hash(b2) {
		t.Fatalf("round trip changed the spec:\n%s\n---\n%s", b, b2)
	}
	s, err = Parse([]byte("model: {kind: layers, layers: [{type: flatten}, {type: linear, out: 10, bias: false}]}"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Model.Layers[1].HasBias() || s.Name != "mnist-layers" {
		t.Fatalf("bias: false is not kept, or name %q", s.Name)
	}
}

// TestLayersErrorsNameTheKey: every mistake in model.layers is an error
// naming its key.
func TestLayersErrorsNameTheKey(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"model: {kind: layers}", "model.layers: model.kind layers needs 1..256 layers, got 0"},
		{"model: {kind: mlp, layers: [{type: relu}]}", "model.layers: is the network of model.kind layers, not of mlp"},
		{"model: {kind: layers, hidden: [5], layers: [{type: linear, out: 10}]}", "model.hidden: does not apply to model.kind layers"},
		{"model: {kind: layers, layers: [{type: softmax}]}", `model.layers[0].type: "softmax" is not one of`},
		{"model: {kind: layers, layers: [{type: relu, out: 3}, {type: linear, out: 10}]}", "model.layers[0].out: does not apply to a relu layer"},
		{"model: {kind: layers, layers: [{type: flatten}, {type: linear}]}", "model.layers[1].out: must be in 1..65536 for a linear layer, got 0"},
		{"model: {kind: layers, layers: [{type: conv2d, out: 4}]}", "model.layers[0].kernel: must be in 1..65536"},
		{"model: {kind: layers, layers: [{type: conv2d, out: 4, kernel: 3, pad: -1}]}", "model.layers[0].pad: must be in 0..65536"},
		{"model: {kind: layers, layers: [{type: maxpool}]}", "model.layers[0].size: must be in 1..65536"},
		{"model: {kind: layers, layers: [{type: dropout, p: 1}]}", "model.layers[0].p: must be in [0, 1), got 1"},
		{"model: {kind: layers, layers: [{type: dropout, p: .nan}]}", "model.layers[0].p: must be a finite number"},
		{"model: {kind: layers, layers: [{type: linear, out: 10, outs: 3}]}", "outs"},
		{"model: {kind: layers, layers: [{type: flatten}, {type: linear, out: 10}]}\ndata: {source: shakespeare}", "data.source: shakespeare is text"},
	}
	for _, tc := range tests {
		_, err := Parse([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant %q", tc.yaml, err, tc.want)
		}
	}
}
