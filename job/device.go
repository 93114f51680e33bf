package job

import (
	"fmt"
	"strconv"
	"strings"
)

// CheckDevice checks a device choice: "cpu", "emu", "gpu" or "gpu:N"
// (N a GPU ordinal, 0..255).
func CheckDevice(d string) error {
	switch d {
	case "cpu", "emu", "gpu":
		return nil
	}
	if n, ok := strings.CutPrefix(d, "gpu:"); ok {
		if v, err := strconv.Atoi(n); err == nil && v >= 0 && v <= 255 {
			return nil
		}
	}
	return fmt.Errorf("%q is not a device: want cpu, gpu, gpu:N (N a GPU ordinal 0..255) or emu", d)
}

// deviceLayerTypes are the layer types of model.kind layers that the GPU
// path (and the emulated device) runs.
func deviceLayerTypes() []string { return []string{"linear", "conv2d", "maxpool", "relu", "flatten"} }
