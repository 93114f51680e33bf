package worker

import (
	"testing"

	"github.com/ringtrain/ringtrain/job"
	"github.com/ringtrain/ringtrain/model"
)

// TestLayersExampleTrains: docs/examples/layers-cnn.yaml's list reaches
// the model as written (bias defaults included) and trains on two ranks
// that stay bitwise in step.
func TestLayersExampleTrains(t *testing.T) {
	spec, err := job.Load("../docs/examples/layers-cnn.yaml")
	if err != nil {
		t.Fatal(err)
	}
	spec.Train.GlobalBatch, spec.Train.Steps = 8, 3
	ms := modelSpec(spec, mnistCorpus(t))
	if err := ms.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(ms.Net) != len(spec.Model.Layers) || ms.Hidden != nil ||
		ms.Net[0] != (model.Layer{Type: "conv2d", Out: 6, Kernel: 5, Pad: 2}) || ms.Net[9] != (model.Layer{Type: "dropout", P: 0.1}) {
		t.Fatalf("model spec %+v", ms)
	}
	spec.Model.Layers[11].Bias = new(false)
	if ms := modelSpec(spec, mnistCorpus(t)); !ms.Net[11].NoBias {
		t.Fatalf("bias: false did not reach the model: %+v", ms.Net[11])
	}
	spec.Model.Layers[11].Bias = nil
	train(t, spec, 2, steps(3))
}
