package ptxsim

import (
	"testing"

	"github.com/ringtrain/ringtrain/model/device"
)

// fuzzSeeds are the modules of the tests: valid kernels, the op
// harness around each snippet, and the parse-error cases.
func fuzzSeeds() []string {
	seeds := []string{vaddPTX, bsumPTX, mmPTX, ctlPTX, shPTX, exitBarPTX, dimsPTX, faultPTX, actGradPTX}
	for _, sn := range coveredSnippets() {
		seeds = append(seeds, opModule(sn))
	}
	seeds = append(seeds, body("\tbra $L_nowhere;"), body("\tadd.s32 %r1, %r2, 010;"), body("\tld.global.f32 %f1, [%rd1+-4];"))
	return seeds
}

// FuzzParse feeds arbitrary text to New: it must return a Device or an
// ErrPTX, never panic; a module that decodes is also launched (every
// entry, small geometry, a small budget) and must not panic either.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		d, err := New(device.Module{Name: "fuzz.ptx", Source: src})
		if err != nil {
			return
		}
		if err := d.SetBudget(20_000); err != nil {
			t.Fatal(err)
		}
		buf, err := d.Alloc(256)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range d.Entries() {
			var args []device.Arg
			for _, p := range d.kernels[name].params {
				switch kindOf(p.t) {
				case device.ParamPtr:
					args = append(args, buf)
				case device.ParamI32:
					args = append(args, device.I32(3))
				default:
					args = append(args, device.F32(0.5))
				}
			}
			_ = d.Launch(name, device.D1(2), device.D2(4, 2), args...) // errors are fine, panics are not
		}
	})
}
