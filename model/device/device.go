package device

import (
	"errors"
	"fmt"
	"unsafe"
)

// Errors of this package; every returned error wraps one of them.
var (
	// ErrLaunch: a launch named an unknown kernel, passed arguments that
	// do not match its signature, or used an invalid geometry.
	ErrLaunch = errors.New("device: bad launch")
	// ErrFault: a kernel or copy touched memory outside an allocation.
	ErrFault = errors.New("device: memory fault")
	// ErrDevice: the device itself failed (out of memory, driver error).
	ErrDevice = errors.New("device: failure")
)

// Buffer is device memory: the device address of its first byte and its
// length in bytes. The zero Buffer is no memory.
type Buffer struct {
	Addr  uint64
	Bytes int
}

// At is the view of b from byte offset off on, n bytes long. It panics
// if the view does not lie inside b (a programming error of the caller,
// like slicing past a slice's end).
func (b Buffer) At(off, n int) Buffer {
	if off < 0 || n < 0 || off+n > b.Bytes {
		panic(fmt.Sprintf("device: view [%d, %d) of a %d-byte buffer", off, off+n, b.Bytes))
	}
	return Buffer{Addr: b.Addr + uint64(off), Bytes: n}
}

// F32 views float32 elements [lo, hi) of b.
func (b Buffer) F32(lo, hi int) Buffer { return b.At(4*lo, 4*(hi-lo)) }

// Dim3 is a launch dimension (grid in blocks, block in threads). Zero
// components count as 1.
type Dim3 struct{ X, Y, Z int }

// D1 is a one-dimensional Dim3.
func D1(x int) Dim3 { return Dim3{X: x, Y: 1, Z: 1} }

// D2 is a two-dimensional Dim3.
func D2(x, y int) Dim3 { return Dim3{X: x, Y: y, Z: 1} }

// Norm returns d with zero components set to 1.
func (d Dim3) Norm() Dim3 {
	if d.X == 0 {
		d.X = 1
	}
	if d.Y == 0 {
		d.Y = 1
	}
	if d.Z == 0 {
		d.Z = 1
	}
	return d
}

// Count is X·Y·Z of the normalized dimension.
func (d Dim3) Count() int { n := d.Norm(); return n.X * n.Y * n.Z }

// Arg is a kernel argument: a Buffer (a pointer parameter, .u64 in PTX),
// an I32 (.s32 or .u32) or an F32 (.f32).
type Arg interface{ kind() ParamKind }

// I32 is a 32-bit integer kernel argument.
type I32 int32

// F32 is a float32 kernel argument.
type F32 float32

func (Buffer) kind() ParamKind { return ParamPtr }
func (I32) kind() ParamKind    { return ParamI32 }
func (F32) kind() ParamKind    { return ParamF32 }

// Device is where the GPU training path's memory lives and its kernels
// run. It is not safe for concurrent use unless an implementation says
// so.
type Device interface {
	// Name says which device this is ("emu", "gpu:0 NVIDIA H200", …).
	Name() string
	// Alloc returns bytes of zeroed device memory.
	Alloc(bytes int) (Buffer, error)
	// Free releases an allocation made by Alloc (b as Alloc returned it).
	Free(b Buffer) error
	// CopyIn copies src to the start of dst (len(src) <= dst.Bytes).
	CopyIn(dst Buffer, src []byte) error
	// CopyOut copies the first len(dst) bytes of src into dst.
	CopyOut(dst []byte, src Buffer) error
	// Launch runs kernel name on grid × block threads with args.
	Launch(name string, grid, block Dim3, args ...Arg) error
	// Sync waits until every launch issued so far has finished and
	// returns the first error one of them hit.
	Sync() error
	// HostAlloc returns host memory for staging copies (page-locked on a
	// GPU, so copies run at full speed; ordinary memory elsewhere); free it
	// with HostFree.
	HostAlloc(bytes int) ([]byte, error)
	// HostFree releases memory from HostAlloc.
	HostFree(b []byte) error
	// Close releases the device and all its memory.
	Close() error
}

// Elem is a type that Upload and Download move: 4-byte values.
type Elem interface{ ~float32 | ~int32 | ~uint32 }

// Bytes views s as bytes (no copy).
func Bytes[T Elem](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), 4*len(s))
}

// Float32s views b (its length a multiple of 4, 4-byte aligned, e.g. from
// HostAlloc) as float32 values (no copy).
func Float32s(b []byte) []float32 {
	if len(b) < 4 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}

// Upload copies src to the start of dst.
func Upload[T Elem](d Device, dst Buffer, src []T) error {
	return d.CopyIn(dst, Bytes(src))
}

// Download copies len(dst) values from the start of src.
func Download[T Elem](d Device, dst []T, src Buffer) error {
	return d.CopyOut(Bytes(dst), src)
}
