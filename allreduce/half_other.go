//go:build !amd64

package allreduce

// pack rounds src to c's format into dst[:carriers(len(src))] (see
// packGeneric; the SIMD kernels are amd64's).
func pack(c Compression, dst, src []float32) []float32 { return packGeneric(c, dst, src) }

// unpack widens the len(dst) half-width values packed in src into dst.
func unpack(c Compression, dst, src []float32) { unpackGeneric(c, dst, src) }

// combineHalf is dst[i] = dst[i] ⊕ widen(value i of wire) for i < len(dst).
func combineHalf(c Compression, op ReduceOp, dst, wire []float32) {
	combineHalfGeneric(c, op, dst, wire)
}
