package job

import (
	"strings"
	"testing"
)

// TestDeviceKinds: the GPU path (and its emulation) takes the kinds it
// has kernels for, lstm and gru included, and refuses the others naming
// model.device.
func TestDeviceKinds(t *testing.T) {
	for _, tc := range []struct {
		doc string
		ok  bool
	}{
		{"model: {kind: mlp, device: emu}", true},
		{"data: {source: shakespeare}\nmodel: {kind: lstm, device: emu}", true},
		{"data: {source: shakespeare}\nmodel: {kind: gru, device: gpu}", true},
		{"data: {source: shakespeare}\nmodel: {kind: lstm, device: gpu:1}", true},
		{"model: {kind: layers, device: emu, layers: [{type: flatten}, {type: linear, out: 10}]}", false},
	} {
		_, err := Parse([]byte(tc.doc))
		switch {
		case tc.ok && err != nil:
			t.Errorf("%q: %v", tc.doc, err)
		case !tc.ok && (err == nil || !strings.Contains(err.Error(), "model.device")):
			t.Errorf("%q: error %v, want one naming model.device", tc.doc, err)
		}
	}
}
