package model_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/model"
	"github.com/ringtrain/ringtrain/model/device"
)

var deviceLayersSpecs = []struct {
	name  string
	spec  model.Spec
	batch int
}{
	{"lenet as layers", model.Spec{Kind: model.KindLayers, Input: []int{1, 12, 12}, Classes: 3, Loss: model.LossXent, Net: []model.Layer{
		{Type: model.LayerConv2D, Out: 6, Kernel: 5, Pad: 2}, {Type: model.LayerReLU}, {Type: model.LayerMaxPool, Size: 2},
		{Type: model.LayerConv2D, Out: 16, Kernel: 5}, {Type: model.LayerReLU}, {Type: model.LayerMaxPool, Size: 2},
		{Type: model.LayerFlatten}, {Type: model.LayerLinear, Out: 7}, {Type: model.LayerReLU}, {Type: model.LayerLinear, Out: 3}}}, 4},
	{"strided, overlapping, no bias", model.Spec{Kind: model.KindLayers, Input: []int{2, 11, 9}, Classes: 3, Loss: model.LossXent, Net: []model.Layer{
		{Type: model.LayerConv2D, Out: 4, Kernel: 3, Pad: 1, Stride: 2, NoBias: true}, {Type: model.LayerReLU}, {Type: model.LayerMaxPool, Size: 3, Stride: 1},
		{Type: model.LayerConv2D, Out: 3, Kernel: 2}, {Type: model.LayerMaxPool, Size: 2}, {Type: model.LayerReLU},
		{Type: model.LayerFlatten}, {Type: model.LayerLinear, Out: 5, NoBias: true}, {Type: model.LayerReLU}, {Type: model.LayerReLU},
		{Type: model.LayerLinear, Out: 3}}}, 5},
	{"mlp as layers mse", model.Spec{Kind: model.KindLayers, Input: []int{3, 4}, Classes: 4, Loss: model.LossMSE, Net: []model.Layer{
		{Type: model.LayerFlatten}, {Type: model.LayerLinear, Out: 6}, {Type: model.LayerReLU}, {Type: model.LayerLinear, Out: 4, NoBias: true}}}, 3},
	{"relu first, conv last", model.Spec{Kind: model.KindLayers, Input: []int{1, 6, 6}, Classes: 2, Loss: model.LossXent, Net: []model.Layer{
		{Type: model.LayerReLU}, {Type: model.LayerConv2D, Out: 2, Kernel: 6}, {Type: model.LayerFlatten}}}, 3},
}

// TestDeviceLayersMatchesCPU: networks of kind layers made of the layer
// types a device runs (linear, conv2d, maxpool, relu, flatten; biases or
// none, strides, overlapping windows, relus fused or alone) match the
// CPU model on the emulated device and on ptxsim: gradients over SGD
// steps and accumulated passes, and evaluation.
func TestDeviceLayersMatchesCPU(t *testing.T) {
	for _, tc := range deviceLayersSpecs {
		t.Run(tc.name, func(t *testing.T) {
			cpu, dm := emuTwins(t, tc.spec, tc.batch, 3)
			worst := matchPasses(t, cpu, dm, passes{n: 3, seed: 40, sgd: true})
			matchEval(t, cpu, dm, 300, 99)
			pm := ptxTwin(t, cpu)
			ptx := matchPasses(t, cpu, pm, passes{n: 2, seed: 40, pass: accumulating})
			matchEval(t, cpu, pm, 7, 99)
			t.Logf("largest gradient error relative to the largest gradient: emu %.3g, ptx %.3g", worst, ptx)
		})
	}
}

// TestDeviceLayersRefuses: a layer type without device kernels is an
// ErrSpec naming it and its index.
func TestDeviceLayersRefuses(t *testing.T) {
	for _, l := range []model.Layer{
		{Type: model.LayerGELU}, {Type: model.LayerTanh}, {Type: model.LayerDropout, P: 0.1}, {Type: model.LayerLayerNorm},
	} {
		spec := model.Spec{Kind: model.KindLayers, Input: []int{5}, Classes: 3, Loss: model.LossXent,
			Net: []model.Layer{{Type: model.LayerLinear, Out: 4}, l, {Type: model.LayerLinear, Out: 3}}}
		emu := device.NewEmu()
		_, err := model.NewDeviceModel(spec, 2, emu)
		if !errors.Is(err, model.ErrSpec) || !strings.Contains(err.Error(), "layers[1] is "+l.Type) {
			t.Errorf("%s: %v, want ErrSpec naming layers[1] is %s", l.Type, err, l.Type)
		}
		if emu.Live() != 0 {
			t.Errorf("%s: %d allocations left", l.Type, emu.Live())
		}
	}
	emb := model.Spec{Kind: model.KindLayers, Input: []int{3}, Classes: 2, Loss: model.LossXent,
		Net: []model.Layer{{Type: model.LayerEmbedding, Vocab: 5, Out: 2}, {Type: model.LayerFlatten}, {Type: model.LayerLinear, Out: 2}}}
	if _, err := model.NewDeviceModel(emb, 2, device.NewEmu()); !errors.Is(err, model.ErrSpec) || !strings.Contains(err.Error(), "layers[0] is embedding") {
		t.Errorf("embedding: %v, want ErrSpec naming it", err)
	}
}

// TestDeviceLayersHooks: with buckets, a layers network's parameters are
// copied only after their WaitParams and their gradients are final at
// their GradReady (layers without parameters in between).
func TestDeviceLayersHooks(t *testing.T) {
	tc := deviceLayersSpecs[1]
	deviceHooks(t, tc.spec, tc.batch, 0, 64, 1<<10)
}
