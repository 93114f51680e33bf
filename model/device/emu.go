package device

import (
	"fmt"
)

// Emu is the emulated device: memory in an Arena, each kernel run by its
// Go implementation over the launch's whole grid. It is what `make test`
// runs the GPU training path on, and a device users can pick (`emu`) to
// try the GPU path's host code without a GPU. It runs one launch at a time
// on the calling goroutine.
type Emu struct {
	arena *Arena
	impls map[string]emuKernel
	err   error // the first failed launch, reported by Sync
}

// emuKernel is a kernel's Go implementation.
type emuKernel func(l *Launch) error

// NewEmu returns an emulated device.
func NewEmu() *Emu { return &Emu{arena: NewArena(), impls: emuKernels()} }

// Name is "emu".
func (e *Emu) Name() string { return "emu" }

// Alloc returns zeroed memory.
func (e *Emu) Alloc(bytes int) (Buffer, error) { return e.arena.Alloc(bytes) }

// Free releases b.
func (e *Emu) Free(b Buffer) error { return e.arena.Free(b) }

// CopyIn copies src into dst.
func (e *Emu) CopyIn(dst Buffer, src []byte) error {
	if len(src) > dst.Bytes {
		return fmt.Errorf("%w: copy of %d bytes into a %d-byte buffer", ErrFault, len(src), dst.Bytes)
	}
	m, err := e.arena.Resolve(dst.Addr, len(src))
	if err != nil {
		return err
	}
	copy(m, src)
	return nil
}

// CopyOut copies src into dst.
func (e *Emu) CopyOut(dst []byte, src Buffer) error {
	if len(dst) > src.Bytes {
		return fmt.Errorf("%w: copy of %d bytes out of a %d-byte buffer", ErrFault, len(dst), src.Bytes)
	}
	m, err := e.arena.Resolve(src.Addr, len(dst))
	if err != nil {
		return err
	}
	copy(dst, m)
	return nil
}

// Launch runs the kernel's Go implementation now. An error is also kept
// for Sync, as a GPU reports a failed kernel at the next synchronization.
func (e *Emu) Launch(name string, grid, block Dim3, args ...Arg) error {
	err := e.launch(name, grid, block, args)
	if err != nil && e.err == nil {
		e.err = err
	}
	return err
}

func (e *Emu) launch(name string, grid, block Dim3, args []Arg) (err error) {
	if _, err := CheckArgs(name, args); err != nil {
		return err
	}
	if err := CheckGeometry(name, grid, block); err != nil {
		return err
	}
	impl, ok := e.impls[name]
	if !ok {
		return fmt.Errorf("%w: kernel %q has no Go implementation", ErrLaunch, name)
	}
	l := &Launch{Name: name, Grid: grid.Norm(), Block: block.Norm(), args: args, arena: e.arena}
	defer func() {
		if r := recover(); r != nil { // an index out of a view's range
			err = fmt.Errorf("%w: kernel %s (grid %v, block %v): %v", ErrFault, name, l.Grid, l.Block, r)
		}
	}()
	return impl(l)
}

// Sync returns the first error a launch hit.
func (e *Emu) Sync() error { return e.err }

// HostAlloc returns ordinary memory.
func (e *Emu) HostAlloc(bytes int) ([]byte, error) {
	if bytes < 0 {
		return nil, fmt.Errorf("%w: host allocation of %d bytes", ErrDevice, bytes)
	}
	f := make([]float32, (bytes+3)/4) // 4-byte aligned
	return Bytes(f)[:bytes:bytes], nil
}

// HostFree does nothing: the garbage collector frees it.
func (e *Emu) HostFree([]byte) error { return nil }

// Close releases the memory.
func (e *Emu) Close() error {
	e.arena = NewArena()
	return nil
}

// Live is the number of allocations not freed (tests: no leaks).
func (e *Emu) Live() int { return e.arena.Live() }

// Launch is one kernel launch as a Go implementation sees it: its
// geometry and arguments, the arguments' memory as typed views.
type Launch struct {
	Name        string
	Grid, Block Dim3 // normalized
	args        []Arg
	arena       *Arena
}

// Int is integer argument i.
func (l *Launch) Int(i int) int { return int(l.args[i].(I32)) }

// Float is float argument i.
func (l *Launch) Float(i int) float32 { return float32(l.args[i].(F32)) }

// F32s is pointer argument i as float32 values: the argument's view,
// n elements (a kernel reading past n is a fault).
func (l *Launch) F32s(i, n int) []float32 {
	b := l.args[i].(Buffer)
	if 4*n > b.Bytes {
		panic(fmt.Sprintf("argument %d: %d float32 values read from a %d-byte view", i, n, b.Bytes))
	}
	m, err := l.arena.Resolve(b.Addr, 4*n)
	if err != nil {
		panic(err)
	}
	return Float32s(m)
}

// I32s is pointer argument i as int32 values, n elements.
func (l *Launch) I32s(i, n int) []int32 {
	f := l.F32s(i, n)
	if len(f) == 0 {
		return nil
	}
	return unsafeInt32s(f)
}

// EachBlock calls f for every block of the grid, x fastest.
func (l *Launch) EachBlock(f func(b Dim3)) {
	for z := range l.Grid.Z {
		for y := range l.Grid.Y {
			for x := range l.Grid.X {
				f(Dim3{x, y, z})
			}
		}
	}
}

// EachThread calls f for every thread of block-local index t, x fastest.
func (l *Launch) EachThread(f func(t Dim3)) {
	for z := range l.Block.Z {
		for y := range l.Block.Y {
			for x := range l.Block.X {
				f(Dim3{x, y, z})
			}
		}
	}
}

// EachGridThread calls f for every thread of the launch (block b,
// thread t): the shape of an elementwise kernel without shared memory.
func (l *Launch) EachGridThread(f func(b, t Dim3)) {
	l.EachBlock(func(b Dim3) { l.EachThread(func(t Dim3) { f(b, t) }) })
}
