//go:build gpu

package worker

import (
	"github.com/ringtrain/ringtrain/model/device"
	"github.com/ringtrain/ringtrain/model/device/cuda"
)

// openGPU opens GPU n through the CUDA driver (the GPU binary only).
func openGPU(n int) (device.Device, error) { return cuda.Open(n) }
