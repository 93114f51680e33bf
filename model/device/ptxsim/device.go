package ptxsim

import (
	"fmt"
	"slices"
	"sort"

	"github.com/ringtrain/ringtrain/model/device"
)

// Errors of this package. Parse and decode errors wrap ErrPTX; a launch
// over its instruction budget wraps ErrBudget; both wrap
// device.ErrDevice. Launch errors wrap device.ErrLaunch and memory faults
// device.ErrFault, as every Device's do.
var (
	ErrPTX    = fmt.Errorf("%w: invalid PTX", device.ErrDevice)
	ErrBudget = fmt.Errorf("%w: instruction budget exhausted", device.ErrDevice)
)

// DefaultBudget is the number of instructions (summed over all threads)
// a launch may execute before it fails with ErrBudget.
const DefaultBudget = 2_000_000_000

// region is an allocation: its device address and its memory (the
// arena's bytes).
type region struct {
	base uint64
	mem  []byte
}

// Device interprets PTX kernels on the CPU. It implements device.Device
// with memory in a device.Arena; launches run synchronously on the
// calling goroutine, blocks one after another, so results are
// deterministic. It is not safe for concurrent use.
type Device struct {
	kernels  map[string]*kernel
	arena    *device.Arena
	regions  []region // the arena's allocations, ascending base
	budget   int64
	executed int64
	err      error // the first failed launch, for Sync
}

var _ device.Device = (*Device)(nil)

// New parses and decodes the entries of mods (device.Modules() gives the
// embedded ones). Every error names the module and line and wraps ErrPTX.
func New(mods ...device.Module) (*Device, error) {
	fs := forms()
	d := &Device{kernels: map[string]*kernel{}, arena: device.NewArena(), budget: DefaultBudget}
	for _, m := range mods {
		ks, err := parseModule(m, fs)
		if err != nil {
			return nil, err
		}
		for _, k := range ks {
			if old, ok := d.kernels[k.name]; ok {
				return nil, fmt.Errorf("%w: %s:%d: entry %s is already defined at %s:%d", ErrPTX, k.module, k.line, k.name, old.module, old.line)
			}
			d.kernels[k.name] = k
		}
	}
	return d, nil
}

// Name is "ptxsim".
func (d *Device) Name() string { return "ptxsim" }

// Entries returns the names of the decoded entries, sorted.
func (d *Device) Entries() []string {
	names := make([]string, 0, len(d.kernels))
	for n := range d.kernels {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// SetBudget sets the number of instructions one launch may execute
// (summed over its threads) before it fails with ErrBudget.
func (d *Device) SetBudget(n int64) error {
	if n <= 0 {
		return fmt.Errorf("%w: instruction budget %d", device.ErrDevice, n)
	}
	d.budget = n
	return nil
}

// Executed is the number of instructions executed by all launches so far
// (predicated-off ones included).
func (d *Device) Executed() int64 { return d.executed }

// Alloc returns zeroed memory.
func (d *Device) Alloc(bytes int) (device.Buffer, error) {
	b, err := d.arena.Alloc(bytes)
	if err != nil {
		return b, err
	}
	mem, err := d.arena.Bytes(b)
	if err != nil {
		return device.Buffer{}, err
	}
	r := region{base: b.Addr, mem: mem}
	i := sort.Search(len(d.regions), func(i int) bool { return d.regions[i].base > b.Addr })
	d.regions = slices.Insert(d.regions, i, r)
	return b, nil
}

// Free releases b.
func (d *Device) Free(b device.Buffer) error {
	if err := d.arena.Free(b); err != nil {
		return err
	}
	d.regions = slices.DeleteFunc(d.regions, func(r region) bool { return r.base == b.Addr })
	return nil
}

// region returns the allocation holding addr, if any.
func (d *Device) region(addr uint64) (region, bool) {
	i := sort.Search(len(d.regions), func(i int) bool { return d.regions[i].base > addr })
	if i == 0 {
		return region{}, false
	}
	return d.regions[i-1], true
}

// CopyIn copies src into dst.
func (d *Device) CopyIn(dst device.Buffer, src []byte) error {
	if len(src) > dst.Bytes {
		return fmt.Errorf("%w: copy of %d bytes into a %d-byte buffer", device.ErrFault, len(src), dst.Bytes)
	}
	m, err := d.arena.Resolve(dst.Addr, len(src))
	if err != nil {
		return err
	}
	copy(m, src)
	return nil
}

// CopyOut copies src into dst.
func (d *Device) CopyOut(dst []byte, src device.Buffer) error {
	if len(dst) > src.Bytes {
		return fmt.Errorf("%w: copy of %d bytes out of a %d-byte buffer", device.ErrFault, len(dst), src.Bytes)
	}
	m, err := d.arena.Resolve(src.Addr, len(dst))
	if err != nil {
		return err
	}
	copy(dst, m)
	return nil
}

// Launch runs entry name over grid × block threads now. Its arguments
// are checked against the entry's parameters (Buffer for .u64/.b64, I32
// for .u32/.s32/.b32, F32 for .f32) and, for a kernel of the project's
// table, with device.CheckArgs; the geometry with device.CheckGeometry.
// An error is also kept for Sync.
func (d *Device) Launch(name string, grid, block device.Dim3, args ...device.Arg) error {
	err := d.launch(name, grid, block, args)
	if err != nil && d.err == nil {
		d.err = err
	}
	return err
}

func (d *Device) launch(name string, grid, block device.Dim3, args []device.Arg) error {
	k, ok := d.kernels[name]
	if !ok {
		return fmt.Errorf("%w: no entry %q in the loaded PTX", device.ErrLaunch, name)
	}
	if _, ok := device.Lookup(name); ok {
		if _, err := device.CheckArgs(name, args); err != nil {
			return err
		}
	}
	if len(args) != len(k.params) {
		return fmt.Errorf("%w: %s (%s:%d) takes %d arguments, got %d", device.ErrLaunch, name, k.module, k.line, len(k.params), len(args))
	}
	for i, a := range args {
		want := kindOf(k.params[i].t)
		var have device.ParamKind
		switch a.(type) {
		case device.Buffer:
			have = device.ParamPtr
		case device.I32:
			have = device.ParamI32
		case device.F32:
			have = device.ParamF32
		}
		if have != want {
			return fmt.Errorf("%w: %s argument %d (%s %s) must be %s, got %T", device.ErrLaunch, name, i, k.params[i].t, k.params[i].name, want, a)
		}
	}
	if err := device.CheckGeometry(name, grid, block); err != nil {
		return err
	}
	return d.execute(k, grid, block, args)
}

// Sync returns the first error a launch hit.
func (d *Device) Sync() error { return d.err }

// HostAlloc returns ordinary (4-byte aligned) memory.
func (d *Device) HostAlloc(bytes int) ([]byte, error) {
	if bytes < 0 {
		return nil, fmt.Errorf("%w: host allocation of %d bytes", device.ErrDevice, bytes)
	}
	f := make([]float32, (bytes+3)/4)
	return device.Bytes(f)[:bytes:bytes], nil
}

// HostFree does nothing: the garbage collector frees the memory.
func (d *Device) HostFree([]byte) error { return nil }

// Close releases all device memory; the decoded kernels stay loaded.
func (d *Device) Close() error {
	d.arena = device.NewArena()
	d.regions = nil
	return nil
}

// Live is the number of allocations not freed (tests: no leaks).
func (d *Device) Live() int { return d.arena.Live() }
