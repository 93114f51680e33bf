package ptxsim_test

import (
	"testing"

	"github.com/ringtrain/ringtrain/model/device"
	"github.com/ringtrain/ringtrain/model/device/devicetest"
	"github.com/ringtrain/ringtrain/model/device/ptxsim"
)

// The project's PTX kernels, interpreted, against their Go twins on the
// emulated device: every kernel over the conformance table of shapes.
func TestProjectKernelsConform(t *testing.T) {
	mods, err := device.Modules()
	if err != nil {
		t.Fatal(err)
	}
	d, err := ptxsim.New(mods...)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	devicetest.Conformance(t, d)
}
