//go:build gpu

package cuda

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/ringtrain/ringtrain/model/device"
	"gorgonia.org/cu"
)

// Device is one GPU as a device.Device. It is safe for concurrent use.
type Device struct {
	mu      sync.Mutex
	ordinal int
	name    string
	dev     cu.Device
	ctx     cu.CUContext
	stream  cu.Stream
	modules []cu.Module
	funcs   map[string]cu.Function
	allocs  allocTable
	host    map[*byte]int // HostAlloc'd memory: first byte → length
	err     error         // the first failed launch, reported by Sync
	closed  bool
}

var _ device.Device = (*Device)(nil)

// jitLogBytes is the size of the buffer the driver's JIT writes its error
// log into when a module does not compile.
const jitLogBytes = 16 << 10

// Open returns GPU ordinal (0 is the first of the GPUs the driver shows
// this process) with every kernel loaded.
func Open(ordinal int) (*Device, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	n, err := cu.NumDevices()
	if err != nil {
		return nil, fmt.Errorf("%w: cuda: count devices: %w", device.ErrDevice, err)
	}
	if ordinal < 0 || ordinal >= n {
		return nil, fmt.Errorf("%w: cuda: no GPU %d (this process sees %d)", device.ErrDevice, ordinal, n)
	}
	dev, err := cu.GetDevice(ordinal)
	if err != nil {
		return nil, fmt.Errorf("%w: cuda: get device %d: %w", device.ErrDevice, ordinal, err)
	}
	name, err := dev.Name()
	if err != nil {
		return nil, fmt.Errorf("%w: cuda: name of device %d: %w", device.ErrDevice, ordinal, err)
	}
	ctx, err := dev.RetainPrimaryCtx()
	if err != nil {
		return nil, fmt.Errorf("%w: cuda: retain the primary context of device %d: %w", device.ErrDevice, ordinal, err)
	}
	d := &Device{ordinal: ordinal, name: name, dev: dev, ctx: ctx, funcs: map[string]cu.Function{}, host: map[*byte]int{}}
	if err := d.open(); err != nil {
		return nil, errors.Join(err, d.release())
	}
	return d, nil
}

// open makes the context current (the caller holds its OS thread), creates
// the stream and loads the modules and kernels.
func (d *Device) open() error {
	if err := cu.SetCurrentContext(d.ctx); err != nil {
		return fmt.Errorf("%w: cuda: make the context of device %d current: %w", device.ErrDevice, d.ordinal, err)
	}
	s, err := cu.MakeStream(cu.DefaultStream)
	if err != nil {
		return fmt.Errorf("%w: cuda: create a stream: %w", device.ErrDevice, err)
	}
	d.stream = s
	mods, err := device.Modules()
	if err != nil {
		return err
	}
	for _, m := range mods {
		logBuf := &cu.JITErrorLogBuffer{Buffer: make([]byte, jitLogBytes)}
		mod, err := cu.LoadDataEx(m.Source, logBuf)
		if err != nil {
			return fmt.Errorf("%w: cuda: load module %s: %w: %s", device.ErrDevice, m.Name, err, cString(logBuf.Buffer))
		}
		d.modules = append(d.modules, mod)
	}
	for _, k := range device.Kernels() {
		var found bool
		for _, mod := range d.modules {
			fn, err := mod.Function(k.Name)
			if err == nil {
				d.funcs[k.Name], found = fn, true
				break
			}
			if !errors.Is(err, cu.NotFound) {
				return fmt.Errorf("%w: cuda: look up kernel %s: %w", device.ErrDevice, k.Name, err)
			}
		}
		if !found {
			return fmt.Errorf("%w: cuda: kernel %s is in no module of %d (%s)", device.ErrDevice, k.Name, len(mods), moduleNames(mods))
		}
	}
	return nil
}

func moduleNames(mods []device.Module) string {
	names := make([]string, len(mods))
	for i, m := range mods {
		names[i] = m.Name
	}
	return strings.Join(names, ", ")
}

// cString is the NUL-terminated text at the start of b.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return strings.TrimSpace(string(b))
}

// Name is "gpu:N <the device's name>".
func (d *Device) Name() string { return fmt.Sprintf("gpu:%d %s", d.ordinal, d.name) }

// do runs f with d's context current on the calling goroutine's OS thread,
// holding d's mutex (see the package doc: Threads). op names the operation
// in errors.
func (d *Device) do(op string, f func() error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fmt.Errorf("%w: cuda: %s on a closed device", device.ErrDevice, op)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cu.SetCurrentContext(d.ctx); err != nil {
		return fmt.Errorf("%w: cuda: %s: make the context current: %w", device.ErrDevice, op, err)
	}
	return f()
}

// Close frees every allocation still live (device and page-locked host
// memory), unloads the modules, destroys the stream and releases the
// primary context. Later calls fail; a second Close returns nil.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cu.SetCurrentContext(d.ctx); err != nil {
		return fmt.Errorf("%w: cuda: close: make the context current: %w", device.ErrDevice, err)
	}
	var errs []error
	if err := d.stream.Synchronize(); err != nil {
		errs = append(errs, fmt.Errorf("%w: cuda: close: synchronize: %w", device.ErrDevice, err))
	}
	for _, a := range d.allocs.all() {
		if err := cu.MemFree(cu.DevicePtr(a.base)); err != nil {
			errs = append(errs, fmt.Errorf("%w: cuda: close: free %#x: %w", device.ErrDevice, a.base, err))
		}
	}
	d.allocs = allocTable{}
	for p := range d.host {
		if err := hostFree(p); err != nil {
			errs = append(errs, fmt.Errorf("%w: cuda: close: free host memory: %w", device.ErrDevice, err))
		}
	}
	clear(d.host)
	errs = append(errs, d.release())
	return errors.Join(errs...)
}

// release unloads the modules, destroys the stream and releases the
// primary context (the caller holds its OS thread with the context
// current, or Open failed before making it so).
func (d *Device) release() error {
	var errs []error
	for _, m := range d.modules {
		if err := m.Unload(); err != nil {
			errs = append(errs, fmt.Errorf("%w: cuda: unload a module: %w", device.ErrDevice, err))
		}
	}
	d.modules = nil
	clear(d.funcs)
	if d.stream != (cu.Stream{}) {
		if err := d.stream.Destroy(); err != nil {
			errs = append(errs, fmt.Errorf("%w: cuda: destroy the stream: %w", device.ErrDevice, err))
		}
	}
	if err := d.dev.ReleasePrimaryCtx(); err != nil {
		errs = append(errs, fmt.Errorf("%w: cuda: release the primary context: %w", device.ErrDevice, err))
	}
	return errors.Join(errs...)
}
