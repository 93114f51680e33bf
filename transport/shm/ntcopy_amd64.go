//go:build linux

package shm

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// copyNT copies n bytes from src to dst with non-temporal 32-byte stores,
// then SFENCE; n is a multiple of 128 and dst is 32-byte aligned.
//
//go:noescape
func copyNT(dst, src *byte, n int)

var haveAVX2 = cpu.X86.HasAVX2

// copyTo copies p into d (len(d) >= len(p)) as copy does, but a copy of at
// least ntMinBytes into the ring stores its aligned middle non-temporally:
// the lines go to memory without first being read for ownership from the
// consumer's cache, which last read them (docs/benchmarks.md, "Runs H and
// I": 1 MiB world 2 went from 238 µs to 114 µs).
func copyTo(d, p []byte) {
	if !haveAVX2 || len(p) < ntMinBytes {
		copy(d, p)
		return
	}
	d = d[:len(p)]
	a := int((32 - uintptr(unsafe.Pointer(&d[0]))&31) & 31)
	copy(d[:a], p[:a])
	m := (len(p) - a) &^ 127
	copyNT(&d[a], &p[a], m)
	copy(d[a+m:], p[a+m:])
}
