package worker

import (
	"fmt"
	"testing"
)

// The recurrent language models on the emulated device train like the
// CPU engine: the same parameters after 10 AdamW steps on tiny
// Shakespeare, at 1 and 2 workers (ranks agree bitwise; train checks it).
func TestEmulatedDeviceTrainsRNNLikeTheCPU(t *testing.T) {
	for _, kind := range []string{"lstm", "gru"} {
		spec := textSpec(kind)
		spec.Model.Device = "cpu"
		cpu := train(t, spec, 1, steps(10))
		spec.Model.Device = "emu"
		for _, world := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/world%d", kind, world), func(t *testing.T) {
				got := train(t, spec, world, steps(10))
				d := relDiff(got, cpu)
				t.Logf("relative difference to the CPU: %.2e", d)
				if d > 1e-5 {
					t.Fatalf("relative difference %.2e > 1e-5", d)
				}
			})
		}
	}
}
