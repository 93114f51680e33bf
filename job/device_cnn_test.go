package job

import (
	"strings"
	"testing"
)

// The GPU path trains kinds mlp, cnn and layers: a job asking for one on
// a device is valid; a kind the device has no kernels for is refused
// under model.device, a layer type under model.layers[i].type.
func TestDeviceKinds(t *testing.T) {
	lenet := "model: {kind: layers, device: emu, layers: [{type: conv2d, out: 4, kernel: 3}, {type: relu}, {type: maxpool, size: 2}, {type: flatten}, {type: linear, out: 10, bias: false}]}"
	for _, y := range []string{"model: {kind: mlp, device: emu}", "model: {kind: cnn, device: gpu:1}", "model: {kind: cnn, device: emu}", lenet} {
		if _, err := Parse([]byte(y)); err != nil {
			t.Errorf("%q: %v", y, err)
		}
	}
	y := "data: {source: shakespeare}\nmodel: {kind: gru, device: emu}"
	if _, err := Parse([]byte(y)); err == nil || !strings.Contains(err.Error(), "model.device") || !strings.Contains(err.Error(), "mlp, cnn and layers") {
		t.Errorf("%q: error %v, want model.device naming mlp, cnn and layers", y, err)
	}
	y = "model: {kind: layers, device: gpu, layers: [{type: flatten}, {type: linear, out: 16}, {type: gelu}, {type: linear, out: 10}]}"
	if _, err := Parse([]byte(y)); err == nil || !strings.Contains(err.Error(), "model.layers[2].type: gelu has no kernels") {
		t.Errorf("%q: error %v, want model.layers[2].type naming gelu", y, err)
	}
	if _, err := Parse([]byte(strings.Replace(y, "gpu", "cpu", 1))); err != nil {
		t.Errorf("gelu on the cpu: %v", err)
	}
}
