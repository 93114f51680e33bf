//go:build gpu

package cuda

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/ringtrain/ringtrain/model/device"
)

// Launch issues kernel name on grid × block threads with args on the
// device's stream (it returns before the kernel has run: Sync and the
// copies wait for it). The arguments are checked against the kernel's
// signature (device.CheckArgs) and the geometry against the limits
// (device.CheckGeometry), errors wrapping device.ErrLaunch; a Buffer
// argument with bytes must lie inside one allocation of this device (else
// device.ErrFault). A failed launch is also kept for Sync.
func (d *Device) Launch(name string, grid, block device.Dim3, args ...device.Arg) error {
	err := d.launch(name, grid, block, args)
	if err != nil {
		d.mu.Lock()
		if d.err == nil {
			d.err = err
		}
		d.mu.Unlock()
	}
	return err
}

func (d *Device) launch(name string, grid, block device.Dim3, args []device.Arg) error {
	if _, err := device.CheckArgs(name, args); err != nil {
		return err
	}
	if err := device.CheckGeometry(name, grid, block); err != nil {
		return err
	}
	g, b := grid.Norm(), block.Norm()
	return d.do("launch "+name, func() error {
		fn, ok := d.funcs[name]
		if !ok {
			return fmt.Errorf("%w: cuda: kernel %q is not loaded", device.ErrLaunch, name)
		}
		// Every parameter gets an 8-byte slot: cu's Function.Launch copies
		// 8 bytes from each kernelParams pointer into C memory, and the
		// driver reads a .u32/.s32/.f32 parameter's 4 bytes from the start
		// of its slot (little-endian: the low half).
		slots := make([]uint64, len(args))
		params := make([]unsafe.Pointer, len(args))
		for i, a := range args {
			switch v := a.(type) {
			case device.Buffer:
				if v.Bytes > 0 {
					if err := d.allocs.check(v.Addr, v.Bytes, fmt.Sprintf("launch %s argument %d", name, i)); err != nil {
						return err
					}
				}
				slots[i] = v.Addr // CUdeviceptr
			case device.I32:
				slots[i] = uint64(uint32(v)) // int32
			case device.F32:
				slots[i] = uint64(math.Float32bits(float32(v))) // float32
			default: // CheckArgs admits only the three
				return fmt.Errorf("%w: cuda: %s argument %d has type %T", device.ErrLaunch, name, i, a)
			}
			params[i] = unsafe.Pointer(&slots[i])
		}
		if err := fn.Launch(g.X, g.Y, g.Z, b.X, b.Y, b.Z, 0, d.stream, params); err != nil {
			return fmt.Errorf("%w: cuda: launch %s (grid %v, block %v): %w", device.ErrDevice, name, g, b, err)
		}
		return nil
	})
}

// Sync waits until every launch issued so far has finished
// (cuStreamSynchronize) and returns the first error a launch hit: one
// Launch returned, else one the GPU reported while running the kernels.
func (d *Device) Sync() error {
	err := d.do("sync", func() error {
		if err := d.stream.Synchronize(); err != nil {
			return fmt.Errorf("%w: cuda: sync: %w", device.ErrDevice, err)
		}
		return nil
	})
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return d.err
	}
	return err
}
