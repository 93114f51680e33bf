//go:build gpu

package cuda

// Page-locked host memory: cu v0.9.6 maps cuMemFreeHost but neither
// cuMemHostAlloc nor cuMemAllocHost, so both sides are called here.

// #cgo LDFLAGS: -lcuda
// #include <cuda.h>
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/ringtrain/ringtrain/model/device"
)

// HostAlloc returns bytes of page-locked host memory (cuMemHostAlloc):
// copies from and to it run at full speed. Free it with HostFree (or
// Close).
func (d *Device) HostAlloc(bytes int) ([]byte, error) {
	if bytes < 0 {
		return nil, fmt.Errorf("%w: cuda: host allocation of %d bytes", device.ErrDevice, bytes)
	}
	if bytes == 0 {
		return []byte{}, nil
	}
	var b []byte
	err := d.do("host alloc", func() error {
		var p unsafe.Pointer
		if r := C.cuMemHostAlloc(&p, C.size_t(bytes), 0); r != C.CUDA_SUCCESS {
			return fmt.Errorf("%w: cuda: host allocation of %d bytes: %w", device.ErrDevice, bytes, cuError(r))
		}
		b = unsafe.Slice((*byte)(p), bytes)
		d.host[&b[0]] = bytes
		return nil
	})
	return b, err
}

// HostFree releases memory from HostAlloc (b as HostAlloc returned it, or
// a slice of it that starts at its first byte).
func (d *Device) HostFree(b []byte) error {
	if cap(b) == 0 {
		return nil // HostAlloc(0)
	}
	p := &b[:1][0]
	return d.do("host free", func() error {
		if _, ok := d.host[p]; !ok {
			return fmt.Errorf("%w: cuda: host free of memory HostAlloc did not return", device.ErrDevice)
		}
		delete(d.host, p)
		return hostFree(p)
	})
}

// hostFree is cuMemFreeHost (the caller has the context current).
func hostFree(p *byte) error {
	if r := C.cuMemFreeHost(unsafe.Pointer(p)); r != C.CUDA_SUCCESS {
		return fmt.Errorf("%w: cuda: free page-locked host memory: %w", device.ErrDevice, cuError(r))
	}
	return nil
}

// cuErr is a driver API error code with the driver's name and text for it.
type cuErr struct {
	code        int
	name, descr string
}

func (e cuErr) Error() string { return fmt.Sprintf("%s (%d): %s", e.name, e.code, e.descr) }

func cuError(r C.CUresult) error {
	e := cuErr{code: int(r), name: "CUDA_ERROR_UNKNOWN_CODE", descr: "unknown"}
	var s *C.char
	if C.cuGetErrorName(r, &s) == C.CUDA_SUCCESS && s != nil {
		e.name = C.GoString(s)
	}
	if C.cuGetErrorString(r, &s) == C.CUDA_SUCCESS && s != nil {
		e.descr = C.GoString(s)
	}
	return e
}
