package device_test

import (
	"errors"
	"testing"

	"github.com/ringtrain/ringtrain/model/device"
)

// TestRNNLaunchesRefuse: the step kernels' typed launches refuse a step
// outside the sequence and sizes past 32 bits, with ErrLaunch, before
// launching anything.
func TestRNNLaunchesRefuse(t *testing.T) {
	emu := device.NewEmu()
	defer emu.Close()
	b, err := emu.Alloc(4 * 64)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"lstm_step s = t", device.LSTMStep(emu, 1, 2, 3, 2, b, b, b, b, b, b)},
		{"lstm_step_back s < 0", device.LSTMStepBack(emu, 1, 2, 3, -1, b, b, b, b, b, b, b)},
		{"gru_step s = t", device.GRUStep(emu, 1, 2, 3, 2, b, b, b, b, b, b)},
		{"gru_step_back huge", device.GRUStepBack(emu, 1<<12, 1<<10, 1<<8, 0, b, b, b, b, b, b)},
		{"embed_gather huge", device.EmbedGather(emu, 1<<20, 1<<12, 3, b, b, b)},
		{"embed_grad huge", device.EmbedGrad(emu, 3, 1<<12, 1<<20, b, b, 0, b)},
		{"seq_shift huge", device.SeqShift(emu, 1<<12, 1<<12, 1<<8, b, b)},
	} {
		if !errors.Is(tc.err, device.ErrLaunch) {
			t.Errorf("%s: %v, want ErrLaunch", tc.name, tc.err)
		}
	}
	if err := emu.Sync(); err != nil {
		t.Errorf("a refused launch reached the device: %v", err)
	}
}
