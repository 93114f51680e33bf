package worker

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ringtrain/ringtrain/job"
	"github.com/ringtrain/ringtrain/model/device"
)

// openDevice opens the device a worker computes on: nil for "cpu" (the
// gorgonia engine), the emulated device for "emu", GPU N for "gpu:N"
// ("gpu": GPU 0) — the last only in the GPU binary (openGPU).
func openDevice(choice string) (device.Device, error) {
	if err := job.CheckDevice(choice); err != nil {
		return nil, fmt.Errorf("worker: device: %w", err)
	}
	switch choice {
	case "cpu":
		return nil, nil
	case "emu":
		return device.NewEmu(), nil
	}
	n := 0
	if s, ok := strings.CutPrefix(choice, "gpu:"); ok {
		n, _ = strconv.Atoi(s) // CheckDevice checked it
	}
	d, err := openGPU(n)
	if err != nil {
		return nil, fmt.Errorf("worker: device %s: %w", choice, err)
	}
	return d, nil
}

// deviceChoice is the worker's --device if set, else the job's.
func deviceChoice(flag string, spec job.Spec) string {
	if flag != "" {
		return flag
	}
	return spec.Model.Device
}
