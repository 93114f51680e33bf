//go:build gpu

package cuda

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/ringtrain/ringtrain/model/device"
	"gorgonia.org/cu"
)

// Alloc returns bytes of zeroed device memory (cuMemAlloc, then
// cuMemsetD8Async on the device's stream, so it is zero for everything
// issued after it).
func (d *Device) Alloc(bytes int) (device.Buffer, error) {
	if bytes <= 0 {
		return device.Buffer{}, fmt.Errorf("%w: cuda: alloc of %d bytes", device.ErrDevice, bytes)
	}
	var b device.Buffer
	err := d.do("alloc", func() error {
		p, err := cu.MemAlloc(int64(bytes))
		if err != nil {
			return fmt.Errorf("%w: cuda: alloc of %d bytes: %w", device.ErrDevice, bytes, err)
		}
		if err := cu.MemsetD8Async(p, 0, int64(bytes), d.stream); err != nil {
			return errors.Join(fmt.Errorf("%w: cuda: zero %d bytes at %v: %w", device.ErrDevice, bytes, p, err), cu.MemFree(p))
		}
		d.allocs.add(uint64(p), bytes)
		b = device.Buffer{Addr: uint64(p), Bytes: bytes}
		return nil
	})
	return b, err
}

// Free releases an allocation made by Alloc (b.Addr its start).
func (d *Device) Free(b device.Buffer) error {
	return d.do("free", func() error {
		a, ok := d.allocs.remove(b.Addr)
		if !ok {
			return fmt.Errorf("%w: cuda: free of %#x, which is not the start of an allocation", device.ErrFault, b.Addr)
		}
		if err := cu.MemFree(cu.DevicePtr(a.base)); err != nil {
			return fmt.Errorf("%w: cuda: free %d bytes at %#x: %w", device.ErrDevice, a.bytes, a.base, err)
		}
		return nil
	})
}

// CopyIn copies src to the start of dst and waits until it is there.
func (d *Device) CopyIn(dst device.Buffer, src []byte) error {
	if len(src) > dst.Bytes {
		return fmt.Errorf("%w: cuda: copy of %d bytes into a %d-byte buffer", device.ErrFault, len(src), dst.Bytes)
	}
	return d.do("copy in", func() error {
		if err := d.allocs.check(dst.Addr, len(src), "copy in"); err != nil {
			return err
		}
		if len(src) == 0 {
			return nil
		}
		if err := cu.MemcpyHtoDAsync(cu.DevicePtr(dst.Addr), unsafe.Pointer(&src[0]), int64(len(src)), d.stream); err != nil {
			return fmt.Errorf("%w: cuda: copy %d bytes in to %#x: %w", device.ErrDevice, len(src), dst.Addr, err)
		}
		if err := d.stream.Synchronize(); err != nil {
			return fmt.Errorf("%w: cuda: copy %d bytes in to %#x: synchronize: %w", device.ErrDevice, len(src), dst.Addr, err)
		}
		return nil
	})
}

// CopyOut copies the first len(dst) bytes of src into dst, after every
// launch issued before it.
func (d *Device) CopyOut(dst []byte, src device.Buffer) error {
	if len(dst) > src.Bytes {
		return fmt.Errorf("%w: cuda: copy of %d bytes out of a %d-byte buffer", device.ErrFault, len(dst), src.Bytes)
	}
	return d.do("copy out", func() error {
		if err := d.allocs.check(src.Addr, len(dst), "copy out"); err != nil {
			return err
		}
		if len(dst) == 0 {
			return nil
		}
		if err := cu.MemcpyDtoHAsync(unsafe.Pointer(&dst[0]), cu.DevicePtr(src.Addr), int64(len(dst)), d.stream); err != nil {
			return fmt.Errorf("%w: cuda: copy %d bytes out of %#x: %w", device.ErrDevice, len(dst), src.Addr, err)
		}
		if err := d.stream.Synchronize(); err != nil {
			return fmt.Errorf("%w: cuda: copy %d bytes out of %#x: synchronize: %w", device.ErrDevice, len(dst), src.Addr, err)
		}
		return nil
	})
}
