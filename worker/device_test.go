package worker

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// The GPU path's host code (on the emulated device) trains like the CPU
// engine: the same parameters after 15 AdamW steps, at 1 and 2 workers
// (ranks agree bitwise; train checks it).
func TestEmulatedDeviceTrainsLikeTheCPU(t *testing.T) {
	spec := testSpec("adamw")
	cpu := train(t, spec, 1, steps(15))
	spec.Model.Device = "emu"
	for _, world := range []int{1, 2} {
		t.Run(fmt.Sprintf("world%d", world), func(t *testing.T) {
			got := train(t, spec, world, steps(15))
			d := relDiff(got, cpu)
			t.Logf("relative difference to the CPU: %.2e", d)
			if d > 1e-5 {
				t.Fatalf("relative difference %.2e > 1e-5", d)
			}
		})
	}
}

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
