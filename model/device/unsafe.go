package device

import "unsafe"

// unsafeInt32s views float32 memory as int32 (the same 4-byte words).
func unsafeInt32s(f []float32) []int32 {
	return unsafe.Slice((*int32)(unsafe.Pointer(&f[0])), len(f))
}
