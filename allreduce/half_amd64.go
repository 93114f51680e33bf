package allreduce

// The SIMD conversions (half_amd64.s) run whole blocks of 16 values; the
// scalar code of half.go does the rest, from an even index, so a carrier
// slot is never split between the two.

//go:noescape
func packBF16AVX2(dst, src *float32, n int)

//go:noescape
func packFP16F16C(dst, src *float32, n int)

//go:noescape
func widenBF16AVX2(dst, src *float32, n int)

//go:noescape
func widenFP16F16C(dst, src *float32, n int)

//go:noescape
func addBF16AVX2(dst, src *float32, n int)

//go:noescape
func addFP16F16C(dst, src *float32, n int)

func cpuidECX1() uint32

// haveF16C: the CPU converts float32 to and from binary16 (CPUID.1:ECX
// bit 29; golang.org/x/sys/cpu does not report it). Only used with AVX2.
var haveF16C = haveAVX2 && cpuidECX1()&(1<<29) != 0

// halfBlock is the number of values the SIMD kernels of format c convert,
// out of n: a multiple of 16, or 0 where the CPU lacks them.
func halfBlock(c Compression, n int) int {
	if !haveAVX2 || c == CompressFP16 && !haveF16C {
		return 0
	}
	return n &^ 15
}

// pack rounds src to c's format into dst[:carriers(len(src))] (the layout
// and the rounding of packGeneric, bit for bit).
func pack(c Compression, dst, src []float32) []float32 {
	dst = dst[:carriers(len(src))]
	m := halfBlock(c, len(src))
	if m > 0 {
		if c == CompressFP16 {
			packFP16F16C(&dst[0], &src[0], m)
		} else {
			packBF16AVX2(&dst[0], &src[0], m)
		}
	}
	packGeneric(c, dst[m/2:], src[m:])
	return dst
}

// unpack widens the len(dst) half-width values packed in src into dst
// (unpackGeneric's bits).
func unpack(c Compression, dst, src []float32) {
	src = src[:carriers(len(dst))]
	m := halfBlock(c, len(dst))
	if m > 0 {
		if c == CompressFP16 {
			widenFP16F16C(&dst[0], &src[0], m)
		} else {
			widenBF16AVX2(&dst[0], &src[0], m)
		}
	}
	unpackGeneric(c, dst[m:], src[m/2:])
}

// combineHalf is dst[i] = dst[i] ⊕ widen(value i of wire) for i < len(dst),
// combineHalfGeneric's bits: Sum and Mean widen and add in one SIMD pass;
// Max (rare with compression) runs the Go loop.
func combineHalf(c Compression, op ReduceOp, dst, wire []float32) {
	wire = wire[:carriers(len(dst))]
	m := 0
	if op != Max {
		m = halfBlock(c, len(dst))
	}
	if m > 0 {
		if c == CompressFP16 {
			addFP16F16C(&dst[0], &wire[0], m)
		} else {
			addBF16AVX2(&dst[0], &wire[0], m)
		}
	}
	combineHalfGeneric(c, op, dst[m:], wire[m/2:])
}
