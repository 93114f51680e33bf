package worker

import (
	"fmt"
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
