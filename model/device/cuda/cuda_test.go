//go:build gpu

package cuda

// These tests need a GPU: package cu's init exits the test binary (status
// 1, "Error in initialization ... NoDevice") on a machine without one.
// deploy/gpu/check.sh builds the binary here and runs it on the GPU box.

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ringtrain/ringtrain/model/device"
	"github.com/ringtrain/ringtrain/model/device/devicetest"
)

func openT(t testing.TB) *Device {
	t.Helper()
	d, err := Open(0)
	if err != nil {
		t.Fatalf("Open(0): %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return d
}

// Every kernel on the GPU against the emulated device.
func TestConformance(t *testing.T) {
	d := openT(t)
	t.Logf("device %s", d.Name())
	devicetest.Conformance(t, d)
}

func TestOpenRefusesMissingGPU(t *testing.T) {
	for _, ordinal := range []int{-1, 1 << 20} {
		d, err := Open(ordinal)
		if !errors.Is(err, device.ErrDevice) {
			t.Errorf("Open(%d) = %v, %v; want an error wrapping ErrDevice", ordinal, d, err)
		}
	}
}

// Copies round-trip through device memory, from ordinary and from
// page-locked memory, at offsets (views) of one allocation, and a new
// allocation reads back as zeros.
func TestCopiesRoundTrip(t *testing.T) {
	d := openT(t)
	const n = 1<<20 + 3
	buf, err := d.Alloc(n)
	if err != nil {
		t.Fatal(err)
	}
	zero := make([]byte, n)
	for i := range zero {
		zero[i] = 0xAA
	}
	if err := d.CopyOut(zero, buf); err != nil {
		t.Fatal(err)
	}
	for i, v := range zero {
		if v != 0 {
			t.Fatalf("new allocation: byte %d is %#x, want 0", i, v)
		}
	}
	pinned, err := d.HostAlloc(n)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		src     []byte
		off, ln int
	}{
		{"pageable whole", make([]byte, n), 0, n},
		{"pageable view", make([]byte, n), 4097, 1000},
		{"pinned whole", pinned, 0, n},
		{"pinned view", pinned, 13, n - 13},
	} {
		for i := range tc.src {
			tc.src[i] = byte(i*7 + tc.off)
		}
		view := buf.At(tc.off, tc.ln)
		if err := d.CopyIn(view, tc.src[:tc.ln]); err != nil {
			t.Fatalf("%s: CopyIn: %v", tc.name, err)
		}
		got := make([]byte, tc.ln)
		if err := d.CopyOut(got, view); err != nil {
			t.Fatalf("%s: CopyOut: %v", tc.name, err)
		}
		for i := range got {
			if got[i] != tc.src[i] {
				t.Fatalf("%s: byte %d = %#x, want %#x", tc.name, i, got[i], tc.src[i])
			}
		}
	}
	if err := d.HostFree(pinned); err != nil {
		t.Fatal(err)
	}
	if err := d.Free(buf); err != nil {
		t.Fatal(err)
	}
}

// Accesses outside this device's allocations are refused before they reach
// the GPU, and a double free is an error; the device still works after.
func TestRefusals(t *testing.T) {
	d := openT(t)
	a, err := d.Alloc(64)
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.Alloc(64)
	if err != nil {
		t.Fatal(err)
	}
	past := device.Buffer{Addr: a.Addr + 32, Bytes: 64}
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"copy in past the end", d.CopyIn(past, make([]byte, 64)), device.ErrFault},
		{"copy out past the end", d.CopyOut(make([]byte, 64), past), device.ErrFault},
		{"copy in larger than the view", d.CopyIn(a, make([]byte, 65)), device.ErrFault},
		{"copy to no memory", d.CopyIn(device.Buffer{Addr: 8, Bytes: 4}, make([]byte, 4)), device.ErrFault},
		{"launch with a view past the end", d.Launch("act_grad", device.D1(1), device.D1(32), device.I32(16), device.I32(0), past, b), device.ErrFault},
		{"unknown kernel", d.Launch("nope", device.D1(1), device.D1(1)), device.ErrLaunch},
		{"wrong argument kinds", d.Launch("act_grad", device.D1(1), device.D1(32), a, device.I32(0), a, b), device.ErrLaunch},
		{"block too large", d.Launch("act_grad", device.D1(1), device.D1(2048), device.I32(16), device.I32(0), a, b), device.ErrLaunch},
		{"alloc of 0 bytes", func() error { _, err := d.Alloc(0); return err }(), device.ErrDevice},
		{"free of a view", d.Free(a.At(4, 8)), device.ErrFault},
		{"host free of foreign memory", d.HostFree(make([]byte, 8)), device.ErrDevice},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want an error wrapping %v", tc.name, tc.err, tc.want)
		}
	}
	if err := d.Free(a); err != nil {
		t.Fatal(err)
	}
	if err := d.Free(a); !errors.Is(err, device.ErrFault) {
		t.Errorf("double free: %v, want an error wrapping ErrFault", err)
	}
	if err := d.Sync(); !errors.Is(err, device.ErrFault) {
		t.Errorf("Sync after the failed launches: %v, want the first one (ErrFault)", err)
	}
	x := []byte{1, 2, 3, 4}
	if err := d.CopyIn(b, x); err != nil {
		t.Fatalf("the device after refusals: %v", err)
	}
}

// Close frees what is left; a closed device refuses calls.
func TestClose(t *testing.T) {
	d, err := Open(0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Alloc(1 << 20); err != nil {
		t.Fatal(err)
	}
	if _, err := d.HostAlloc(1 << 20); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := d.Alloc(4); !errors.Is(err, device.ErrDevice) {
		t.Errorf("Alloc after Close: %v, want an error wrapping ErrDevice", err)
	}
}

// Host↔device bandwidth for page-locked (HostAlloc) and pageable memory.
func BenchmarkCopy(b *testing.B) {
	d := openT(b)
	for _, mib := range []int{1, 16, 256} {
		n := mib << 20
		buf, err := d.Alloc(n)
		if err != nil {
			b.Fatal(err)
		}
		pinned, err := d.HostAlloc(n)
		if err != nil {
			b.Fatal(err)
		}
		for _, mem := range []struct {
			name string
			host []byte
		}{{"pinned", pinned}, {"pageable", make([]byte, n)}} {
			for _, dir := range []struct {
				name string
				copy func() error
			}{
				{"in", func() error { return d.CopyIn(buf, mem.host) }},
				{"out", func() error { return d.CopyOut(mem.host, buf) }},
			} {
				b.Run(fmt.Sprintf("%s/%s/%dMiB", mem.name, dir.name, mib), func(b *testing.B) {
					b.SetBytes(int64(n))
					for b.Loop() {
						if err := dir.copy(); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
				})
			}
		}
		if err := d.HostFree(pinned); err != nil {
			b.Fatal(err)
		}
		if err := d.Free(buf); err != nil {
			b.Fatal(err)
		}
	}
}
