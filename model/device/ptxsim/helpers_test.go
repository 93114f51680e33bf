package ptxsim

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/model/device"
)

// header is the module header every test module starts with.
const header = ".version 7.8\n.target sm_80\n.address_size 64\n"

// newDevice decodes one test module (named test.ptx) or fails the test.
func newDevice(t testing.TB, src string) *Device {
	t.Helper()
	d, err := New(device.Module{Name: "test.ptx", Source: src})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d
}

// upload allocates device memory holding vals.
func upload[T device.Elem](t testing.TB, d *Device, vals []T) device.Buffer {
	t.Helper()
	n := max(4*len(vals), 4)
	b, err := d.Alloc(n)
	if err != nil {
		t.Fatalf("Alloc(%d): %v", n, err)
	}
	if len(vals) > 0 {
		if err := device.Upload(d, b, vals); err != nil {
			t.Fatalf("Upload: %v", err)
		}
	}
	return b
}

// download reads n values of buffer b.
func download[T device.Elem](t testing.TB, d *Device, b device.Buffer, n int) []T {
	t.Helper()
	out := make([]T, n)
	if err := device.Download(d, out, b); err != nil {
		t.Fatalf("Download: %v", err)
	}
	return out
}

// at is "test.ptx:N" for the first line of src containing text.
func at(src, text string) string {
	for i, l := range strings.Split(src, "\n") {
		if strings.Contains(l, text) {
			return fmt.Sprintf("test.ptx:%d", i+1)
		}
	}
	return "text not in the source: " + text
}
