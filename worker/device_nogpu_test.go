//go:build !gpu

package worker

import (
	"errors"
	"strings"
	"testing"
)

// Asking the default build for a GPU is a clear error that says how to
// get one; a bad device name is refused by name.
func TestOpenDevice(t *testing.T) {
	for _, tc := range []struct{ choice, want string }{
		{"gpu", "make build-gpu"},
		{"gpu:1", "make build-gpu"},
		{"tpu", `"tpu" is not a device`},
		{"gpu:x", `"gpu:x" is not a device`},
	} {
		_, err := openDevice(tc.choice)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("openDevice(%q) = %v, want an error containing %q", tc.choice, err, tc.want)
		}
		if strings.Contains(tc.want, "build-gpu") && !errors.Is(err, errNoGPU) {
			t.Errorf("openDevice(%q) = %v, want errNoGPU", tc.choice, err)
		}
	}
	for _, ok := range []string{"cpu", "emu"} {
		d, err := openDevice(ok)
		if err != nil {
			t.Fatalf("openDevice(%q): %v", ok, err)
		}
		if (d == nil) != (ok == "cpu") {
			t.Fatalf("openDevice(%q) = %v", ok, d)
		}
	}
}
