//go:build !gpu

package worker

import (
	"errors"

	"github.com/ringtrain/ringtrain/model/device"
)

// errNoGPU: this binary was built without the GPU path.
var errNoGPU = errors.New("this ringtrain binary has no GPU support: build the GPU binary with `make build-gpu` (bin/ringtrain-gpu, build tag gpu) and run its workers, or use model.device cpu")

// openGPU fails in the default build: it never links CUDA.
func openGPU(int) (device.Device, error) { return nil, errNoGPU }
