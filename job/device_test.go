package job

import (
	"strings"
	"testing"
)

// Every kind trains on a device (the GPU path and its emulation); a layers
// network only of the layer types the device has kernels for, the others
// refused under model.layers[i].type.
func TestDeviceKinds(t *testing.T) {
	lenet := "model: {kind: layers, device: emu, layers: [{type: conv2d, out: 4, kernel: 3}, {type: relu}, {type: maxpool, size: 2}, {type: flatten}, {type: linear, out: 10, bias: false}]}"
	for _, y := range []string{
		"model: {kind: mlp, device: emu}", "model: {kind: cnn, device: gpu:1}", "model: {kind: cnn, device: emu}", lenet,
		"data: {source: shakespeare}\nmodel: {kind: lstm, device: emu}",
		"data: {source: shakespeare}\nmodel: {kind: gru, device: gpu}",
		"data: {source: shakespeare}\nmodel: {kind: transformer, device: gpu:1}",
	} {
		if _, err := Parse([]byte(y)); err != nil {
			t.Errorf("%q: %v", y, err)
		}
	}
	y := "model: {kind: layers, device: gpu, layers: [{type: flatten}, {type: linear, out: 16}, {type: gelu}, {type: linear, out: 10}]}"
	if _, err := Parse([]byte(y)); err == nil || !strings.Contains(err.Error(), "model.layers[2].type: gelu has no kernels") {
		t.Errorf("%q: error %v, want model.layers[2].type naming gelu", y, err)
	}
	if _, err := Parse([]byte(strings.Replace(y, "gpu", "cpu", 1))); err != nil {
		t.Errorf("gelu on the cpu: %v", err)
	}
}
