package devicetest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/model/device"
)

// TestConformanceEmu runs the conformance test on the emulated device
// itself: every case launches without error, and no kernel writes outside
// its outputs or into a guard zone.
func TestConformanceEmu(t *testing.T) {
	e := device.NewEmu()
	Conformance(t, e)
	if e.Live() != 0 {
		t.Errorf("%d allocations left after the conformance test", e.Live())
	}
}

// brokenEnv names the fault a re-executed test binary's broken device
// injects (see TestConformanceCatchesBrokenDevices).
const brokenEnv = "DEVICETEST_BROKEN"

// broken is an emulated device that, after each sgemm launch, does one
// thing wrong: changes an output value, writes past the output's end
// (into its guard zone) or changes an input.
type broken struct {
	*device.Emu
	fault string
}

func (b *broken) Launch(name string, grid, block device.Dim3, args ...device.Arg) error {
	if err := b.Emu.Launch(name, grid, block, args...); err != nil || name != "sgemm" {
		return err
	}
	a, c := args[6].(device.Buffer), args[11].(device.Buffer)
	var at device.Buffer
	switch b.fault {
	case "value":
		at = c.At(c.Bytes-4, 4) // C's last element
	case "guard":
		at = device.Buffer{Addr: c.Addr + uint64(c.Bytes), Bytes: 4}
	case "input":
		at = a.At(0, 4)
	default:
		return fmt.Errorf("unknown fault %q", b.fault)
	}
	return device.Upload(b.Emu, at, []float32{12345})
}

// TestBrokenDevice is run by TestConformanceCatchesBrokenDevices in a
// child process; it fails by design.
func TestBrokenDevice(t *testing.T) {
	fault := os.Getenv(brokenEnv)
	if fault == "" {
		t.Skip("run by TestConformanceCatchesBrokenDevices")
	}
	Conformance(t, &broken{Emu: device.NewEmu(), fault: fault})
}

// TestConformanceCatchesBrokenDevices checks that Conformance fails a
// device that computes a wrong value, writes into a guard zone or changes
// an input, and says where.
func TestConformanceCatchesBrokenDevices(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	for _, tc := range []struct{ fault, want string }{
		{"value", "C["},
		{"guard", "C's guard zone (element 0 past its end) was written"},
		{"input", "input A[0] changed"},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenDevice$/^sgemm$/^M16_N16_K16_NN", "-test.count=1")
			cmd.Env = append(os.Environ(), brokenEnv+"="+tc.fault)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the conformance test passed a device with fault %q:\n%s", tc.fault, out)
			}
			if !strings.Contains(string(out), tc.want) || !strings.Contains(string(out), "sgemm M16_N16_K16") {
				t.Errorf("fault %q: the failure does not say %q for sgemm M16_N16_K16:\n%s", tc.fault, tc.want, out)
			}
		})
	}
}
