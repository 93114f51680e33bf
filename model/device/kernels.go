package device

import (
	"fmt"
	"slices"
)

// ParamKind is the type of a kernel parameter.
type ParamKind uint8

// Parameter types: a device pointer (.u64 in PTX), a 32-bit integer
// (.s32/.u32), a float32 (.f32).
const (
	ParamPtr ParamKind = iota + 1
	ParamI32
	ParamF32
)

func (k ParamKind) String() string {
	switch k {
	case ParamPtr:
		return "ptr"
	case ParamI32:
		return "i32"
	case ParamF32:
		return "f32"
	}
	return fmt.Sprintf("ParamKind(%d)", uint8(k))
}

// Param is one parameter of a kernel's signature.
type Param struct {
	Name string
	Kind ParamKind
}

// Kernel is the signature of a kernel: its name (the PTX .entry), its
// parameters in order, and what it computes.
type Kernel struct {
	Name   string
	Params []Param
	Doc    string
}

// Lookup returns the signature of kernel name.
func Lookup(name string) (Kernel, bool) {
	for _, k := range Kernels() {
		if k.Name == name {
			return k, true
		}
	}
	return Kernel{}, false
}

// CheckArgs checks args against kernel name's signature and returns it.
func CheckArgs(name string, args []Arg) (Kernel, error) {
	k, ok := Lookup(name)
	if !ok {
		return Kernel{}, fmt.Errorf("%w: no kernel %q", ErrLaunch, name)
	}
	if len(args) != len(k.Params) {
		return k, fmt.Errorf("%w: %s takes %d arguments, got %d", ErrLaunch, name, len(k.Params), len(args))
	}
	for i, a := range args {
		if a == nil || a.kind() != k.Params[i].Kind {
			return k, fmt.Errorf("%w: %s argument %d (%s) must be %s, got %T", ErrLaunch, name, i, k.Params[i].Name, k.Params[i].Kind, a)
		}
	}
	return k, nil
}

// CheckGeometry checks a launch geometry against the limits every CUDA
// device of compute capability 8.0 and later has.
func CheckGeometry(name string, grid, block Dim3) error {
	g, b := grid.Norm(), block.Norm()
	switch {
	case g.X < 1 || g.Y < 1 || g.Z < 1 || b.X < 1 || b.Y < 1 || b.Z < 1:
		return fmt.Errorf("%w: %s: negative launch dimension (grid %v, block %v)", ErrLaunch, name, grid, block)
	case g.X > 1<<31-1 || g.Y > 65535 || g.Z > 65535:
		return fmt.Errorf("%w: %s: grid %v exceeds (2³¹-1, 65535, 65535)", ErrLaunch, name, grid)
	case b.X > 1024 || b.Y > 1024 || b.Z > 64 || b.Count() > 1024:
		return fmt.Errorf("%w: %s: block %v exceeds 1024 threads", ErrLaunch, name, block)
	}
	return nil
}

// Kernels is the table of every kernel's signature, in a fresh slice.
func Kernels() []Kernel {
	return slices.Clone(kernelTable())
}
