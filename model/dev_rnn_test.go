package model_test

import (
	"errors"
	"testing"

	"github.com/ringtrain/ringtrain/model"
)

// rnnDeviceSpec is the recurrent model of the device tests: context 6,
// Embed 8, two layers of 12 and 10, vocab 9.
func rnnDeviceSpec(kind string) model.Spec {
	return model.Spec{Kind: kind, Input: []int{6}, Classes: 9, Embed: 8, Hidden: []int{12, 10}, Loss: model.LossXent}
}

// TestDeviceRNNMatchesCPU: lstm and gru on the emulated device match the
// CPU model: loss and gradients over three SGD steps, then evaluation
// over more samples than one eval chunk.
func TestDeviceRNNMatchesCPU(t *testing.T) {
	for _, kind := range []string{model.KindLSTM, model.KindGRU} {
		t.Run(kind, func(t *testing.T) {
			spec, batch := rnnDeviceSpec(kind), 5
			cpu, dm := emuTwins(t, spec, batch, 3)
			worst := matchPasses(t, cpu, dm, passes{n: 3, seed: 10, sgd: true})
			t.Logf("%s: largest gradient difference %.3g of the largest gradient", kind, worst)
			matchEval(t, cpu, dm, 300, 99)
		})
	}
}

// TestDeviceRNNAccumulates: two accumulated half-scaled passes give the
// CPU's accumulated gradient.
func TestDeviceRNNAccumulates(t *testing.T) {
	for _, kind := range []string{model.KindLSTM, model.KindGRU} {
		t.Run(kind, func(t *testing.T) {
			spec, batch := rnnDeviceSpec(kind), 4
			cpu, dm := emuTwins(t, spec, batch, 5)
			matchPasses(t, cpu, dm, passes{n: 2, seed: 20, pass: accumulating})
		})
	}
}

// TestDeviceRNNHooks: with buckets, each bucket's parameters reach the
// device after its WaitParams and its gradients are final at its
// GradReady.
func TestDeviceRNNHooks(t *testing.T) {
	for _, kind := range []string{model.KindLSTM, model.KindGRU} {
		deviceHooks(t, rnnDeviceSpec(kind), 3, 0, 64, 1<<10)
	}
}

// TestDeviceRNNOnPTX: lstm and gru on the project's PTX kernels
// (interpreted by ptxsim) match the CPU model: loss and gradients of a
// pass and an accumulated one with buckets, and evaluation.
func TestDeviceRNNOnPTX(t *testing.T) {
	for _, kind := range []string{model.KindLSTM, model.KindGRU} {
		t.Run(kind, func(t *testing.T) {
			cpu := newModel(t, rnnDeviceSpec(kind), 4, 3)
			dm := ptxTwin(t, cpu)
			worst := matchPasses(t, cpu, dm, passes{n: 2, seed: 30, pass: accumulating})
			t.Logf("%s on ptxsim: largest gradient difference %.3g of the largest gradient", kind, worst)
			matchEval(t, cpu, dm, 20, 7)
		})
	}
}

// TestDeviceRNNRefusesBadTokens: token ids outside the vocabulary and
// labels per position are checked before anything reaches the device.
func TestDeviceRNNRefusesBadTokens(t *testing.T) {
	spec := rnnDeviceSpec(model.KindLSTM)
	dm := newDeviceModel(t, spec, 2, 1)
	for _, tc := range []struct {
		name string
		edit func(x []float32, y []int32) ([]float32, []int32)
	}{
		{"token = vocab", func(x []float32, y []int32) ([]float32, []int32) { x[3] = float32(spec.Classes); return x, y }},
		{"negative token", func(x []float32, y []int32) ([]float32, []int32) { x[0] = -1; return x, y }},
		{"label = vocab", func(x []float32, y []int32) ([]float32, []int32) { y[5] = int32(spec.Classes); return x, y }},
		{"a label per sample", func(x []float32, y []int32) ([]float32, []int32) { return x, y[:2] }},
	} {
		x, y := tc.edit(tokenBatch(spec, 2, 3))
		if _, err := dm.ForwardBackwardWith(x, y, model.Pass{}); !errors.Is(err, model.ErrInput) {
			t.Errorf("%s: %v, want ErrInput", tc.name, err)
		}
	}
}
