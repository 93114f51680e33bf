package worker

import (
	"fmt"
	"testing"
)

// A transformer with dropout trains on the emulated device like on the
// CPU engine: the same parameters after 10 AdamW steps at 1 and 2 workers
// (the device draws the CPU's dropout masks from the same seeds, which
// depend on the rank; ranks agree bitwise, which train checks).
func TestEmulatedDeviceTrainsTheTransformerLikeTheCPU(t *testing.T) {
	for _, world := range []int{1, 2} {
		t.Run(fmt.Sprintf("world%d", world), func(t *testing.T) {
			spec := textSpec("transformer")
			spec.Model.Dropout = 0.1
			spec.Model.Device = "cpu"
			cpu := train(t, spec, world, steps(10))
			spec.Model.Device = "emu"
			got := train(t, spec, world, steps(10))
			d := relDiff(got, cpu)
			t.Logf("relative difference to the CPU: %.2e", d)
			if d > 1e-5 {
				t.Fatalf("relative difference %.2e > 1e-5", d)
			}
		})
	}
}
