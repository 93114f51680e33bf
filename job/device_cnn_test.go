package job

import (
	"strings"
	"testing"
)

// The GPU path trains kinds mlp and cnn: a job asking for either on a
// device is valid; a kind the device has no kernels for is refused under
// model.device.
func TestDeviceKinds(t *testing.T) {
	for _, y := range []string{"model: {kind: mlp, device: emu}", "model: {kind: cnn, device: gpu:1}", "model: {kind: cnn, device: emu}"} {
		if _, err := Parse([]byte(y)); err != nil {
			t.Errorf("%q: %v", y, err)
		}
	}
	y := "data: {source: shakespeare}\nmodel: {kind: gru, device: emu}"
	if _, err := Parse([]byte(y)); err == nil || !strings.Contains(err.Error(), "model.device") || !strings.Contains(err.Error(), "mlp and cnn") {
		t.Errorf("%q: error %v, want model.device naming mlp and cnn", y, err)
	}
}
