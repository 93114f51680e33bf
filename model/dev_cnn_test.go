package model_test

import (
	"testing"

	"github.com/ringtrain/ringtrain/model"
)

var deviceCNNSpecs = []struct {
	name  string
	spec  model.Spec
	batch int
}{
	{"mnist-shaped", model.Spec{Kind: model.KindCNN, Input: []int{1, 28, 28}, Classes: 10, Loss: model.LossXent}, 6},
	{"odd 2x13x15 mse", model.Spec{Kind: model.KindCNN, Input: []int{2, 13, 15}, Hidden: []int{9}, Classes: 4, Loss: model.LossMSE}, 5},
	{"smallest 1x12x12", model.Spec{Kind: model.KindCNN, Input: []int{1, 12, 12}, Hidden: []int{7, 5}, Classes: 3, Loss: model.LossXent}, 3},
	{"3x17x12 no hidden", model.Spec{Kind: model.KindCNN, Input: []int{3, 17, 12}, Hidden: []int{}, Classes: 6, Loss: model.LossXent}, 1},
}

// TestDeviceCNNMatchesCPU: on the emulated device the cnn's loss and
// gradients over SGD steps, and its evaluation (more than one chunk of
// 256), match the CPU model's (the fused conv kernels), for the MNIST
// shape, odd spatial sizes, the smallest input, several channels, both
// losses and batch 1.
func TestDeviceCNNMatchesCPU(t *testing.T) {
	for _, tc := range deviceCNNSpecs {
		t.Run(tc.name, func(t *testing.T) {
			cpu, dm := emuTwins(t, tc.spec, tc.batch, 3)
			worst := matchPasses(t, cpu, dm, passes{n: 3, seed: 40, sgd: true})
			t.Logf("largest gradient error relative to the largest gradient: %.3g", worst)
			matchEval(t, cpu, dm, 300, 99)
		})
	}
}

// TestDeviceCNNAccumulates: two accumulated half-scaled passes give the
// CPU model's gradient.
func TestDeviceCNNAccumulates(t *testing.T) {
	tc := deviceCNNSpecs[1]
	cpu, dm := emuTwins(t, tc.spec, tc.batch, 5)
	matchPasses(t, cpu, dm, passes{n: 2, seed: 40, pass: accumulating})
}

// TestDeviceCNNHooks: with buckets, every bucket's parameters are copied
// only after its WaitParams and its gradients are final at its
// GradReady.
func TestDeviceCNNHooks(t *testing.T) {
	tc := deviceCNNSpecs[2]
	deviceHooks(t, tc.spec, tc.batch, 0, 64, 1<<10)
}

// TestDeviceCNNOnPTX: the cnn's training pass on the project's PTX
// (interpreted by ptxsim) matches the CPU model for every shape of the
// Emu test: gradients over two passes (the second accumulating), and
// evaluation.
func TestDeviceCNNOnPTX(t *testing.T) {
	for _, tc := range deviceCNNSpecs {
		t.Run(tc.name, func(t *testing.T) {
			cpu := newModel(t, tc.spec, tc.batch, 3)
			dm := ptxTwin(t, cpu)
			worst := matchPasses(t, cpu, dm, passes{n: 2, seed: 40, pass: accumulating})
			t.Logf("largest gradient error relative to the largest gradient: %.3g", worst)
			matchEval(t, cpu, dm, 7, 99)
		})
	}
}
