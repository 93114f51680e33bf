package allreduce

import (
	"fmt"
	"math"
)

// Compression is the width at which the partial sums of a reduce-scatter
// travel (Config.Compress). With BF16 or FP16 every value a rank sends in
// ReduceScatter or ReduceScatterRange is rounded to 16 bits
// (round-to-nearest-even) and two of them are bit-packed into one float32
// "carrier" slot, so any Transport carries the half-width payload unchanged;
// the receiver widens them to float32 and adds its own float32 values in the
// ring's fixed order. All other collectives stay exact float32.
type Compression uint8

// Compression formats.
const (
	// CompressNone sends float32 (the default).
	CompressNone Compression = iota
	// CompressBF16 sends bfloat16: float32's 8-bit exponent, 8-bit
	// significand. Finite values never round to ±Inf: the few float32
	// values above bfloat16's largest finite value (3.3895e38) saturate to
	// it.
	CompressBF16
	// CompressFP16 sends IEEE binary16: 5-bit exponent, 11-bit significand.
	// Finite values beyond ±65504 saturate to ±65504 (never ±Inf); values
	// below 2^-24 flush towards zero through binary16's subnormals. Scale
	// gradients (e.g. a mean over ranks of small values) accordingly.
	CompressFP16
)

// String returns the name used in job specs and flags.
func (c Compression) String() string {
	switch c {
	case CompressNone:
		return "none"
	case CompressBF16:
		return "bf16"
	case CompressFP16:
		return "fp16"
	}
	return fmt.Sprintf("compression(%d)", uint8(c))
}

// ParseCompression parses "none", "bf16" or "fp16" ("" is none).
func ParseCompression(s string) (Compression, error) {
	switch s {
	case "", "none":
		return CompressNone, nil
	case "bf16":
		return CompressBF16, nil
	case "fp16":
		return CompressFP16, nil
	}
	return CompressNone, fmt.Errorf("allreduce: compression %q: want none, bf16 or fp16", s)
}

func (c Compression) valid() bool { return c <= CompressFP16 }

// Round returns x rounded to c's format (round-to-nearest-even, saturating
// as the format's documentation says) and widened back to float32: the value
// a receiver sees when x is sent. CompressNone returns x. Callers use it for
// error feedback: x - Round(x) is what the wire loses.
func (c Compression) Round(x float32) float32 {
	switch c {
	case CompressBF16:
		return fromBF16(toBF16(x))
	case CompressFP16:
		return fromFP16(toFP16(x))
	}
	return x
}

// toBF16 rounds x to bfloat16, nearest-even; NaN stays a (quiet) NaN of the
// same sign; finite values saturate at ±max finite.
func toBF16(x float32) uint16 {
	b := math.Float32bits(x)
	if b&0x7fffffff > 0x7f800000 { // NaN
		return uint16(b>>16) | 0x0040
	}
	if b&0x7fffffff == 0x7f800000 { // ±Inf
		return uint16(b >> 16)
	}
	r := b + 0x7fff + (b>>16)&1
	h := uint16(r >> 16)
	if h&0x7fff == 0x7f80 { // a finite value rounded up to Inf
		return h - 1
	}
	return h
}

func fromBF16(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// toFP16 rounds x to IEEE binary16, nearest-even, through subnormals; NaN
// stays a quiet NaN of the same sign; finite values saturate at ±65504.
// The common case (binary16 normal range) is inlined; the rest is
// toFP16Slow.
func toFP16(x float32) uint16 {
	b := math.Float32bits(x)
	a := b & 0x7fffffff
	if a-0x38800000 < 0x477ff000-0x38800000 { // 2^-14 <= |x| < 65520: a normal binary16
		return uint16(b>>16)&0x8000 | uint16((a-0x38000000+0xfff+(a>>13)&1)>>13) // rebias, round to nearest even
	}
	return toFP16Slow(x)
}

func toFP16Slow(x float32) uint16 {
	b := math.Float32bits(x)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	man := b & 0x7fffff
	if exp == 0xff {
		if man != 0 {
			return sign | 0x7e00 | uint16(man>>13)
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 31 {
		return sign | 0x7bff
	}
	if e <= 0 { // binary16 subnormal (or zero): units of 2^-24
		shift := uint(126 - exp)
		if shift > 24 {
			return sign
		}
		m := man | 0x800000
		r := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || rem == half && r&1 == 1 {
			r++
		}
		return sign | uint16(r)
	}
	r := uint32(e)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || rem == 0x1000 && r&1 == 1 {
		r++
	}
	if r >= 0x7c00 {
		return sign | 0x7bff
	}
	return sign | uint16(r)
}

func fromFP16(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	if h&0x7c00 == 0x7c00 { // ±Inf, NaN
		return math.Float32frombits(sign | 0x7f800000 | uint32(h&0x3ff)<<13)
	}
	// The 15 magnitude bits placed at float32's exponent/significand
	// boundary are the value times 2^-112 (subnormals included); the
	// power-of-two scale is exact.
	v := math.Float32frombits(uint32(h&0x7fff)<<13) * 0x1p112
	return math.Float32frombits(sign | math.Float32bits(v))
}

// carriers is the number of float32 carrier slots for n half-width values.
func carriers(n int) int { return (n + 1) / 2 }

// packGeneric rounds src to c's format into dst[:carriers(len(src))]: value
// 2i in the low 16 bits of slot i, value 2i+1 in the high 16 bits (zero
// when len(src) is odd). Carriers are bit patterns, never arithmetic values.
// One loop per format, so that the conversions inline. It is the portable
// pack and the reference of the SIMD one (half_amd64.go).
func packGeneric(c Compression, dst, src []float32) []float32 {
	dst = dst[:carriers(len(src))]
	n := len(src) &^ 1
	if c == CompressFP16 {
		for i := 0; i < n; i += 2 {
			// toFP16's fast path, written out (the compiler does not inline
			// toFP16 itself).
			b0, b1 := math.Float32bits(src[i]), math.Float32bits(src[i+1])
			a0, a1 := b0&0x7fffffff, b1&0x7fffffff
			var h0, h1 uint32
			if a0-0x38800000 < 0x477ff000-0x38800000 {
				h0 = (b0>>16)&0x8000 | (a0-0x38000000+0xfff+(a0>>13)&1)>>13
			} else {
				h0 = uint32(toFP16Slow(src[i]))
			}
			if a1-0x38800000 < 0x477ff000-0x38800000 {
				h1 = (b1>>16)&0x8000 | (a1-0x38000000+0xfff+(a1>>13)&1)>>13
			} else {
				h1 = uint32(toFP16Slow(src[i+1]))
			}
			dst[i/2] = math.Float32frombits(h0 | h1<<16)
		}
		if n < len(src) {
			dst[n/2] = math.Float32frombits(uint32(toFP16(src[n])))
		}
		return dst
	}
	for i := 0; i < n; i += 2 {
		dst[i/2] = math.Float32frombits(uint32(toBF16(src[i])) | uint32(toBF16(src[i+1]))<<16)
	}
	if n < len(src) {
		dst[n/2] = math.Float32frombits(uint32(toBF16(src[n])))
	}
	return dst
}

// unpackGeneric widens the len(dst) half-width values packed in src into
// dst: the portable unpack and the reference of the SIMD one.
func unpackGeneric(c Compression, dst, src []float32) {
	n := len(dst) &^ 1
	src = src[:carriers(len(dst))]
	if c == CompressFP16 {
		for i := 0; i < n; i += 2 {
			w := math.Float32bits(src[i/2])
			dst[i], dst[i+1] = fromFP16(uint16(w)), fromFP16(uint16(w>>16))
		}
		if n < len(dst) {
			dst[n] = fromFP16(uint16(math.Float32bits(src[n/2])))
		}
		return
	}
	for i := 0; i < n; i += 2 {
		w := math.Float32bits(src[i/2])
		dst[i], dst[i+1] = math.Float32frombits(w<<16), math.Float32frombits(w&0xffff0000)
	}
	if n < len(dst) {
		dst[n] = math.Float32frombits(math.Float32bits(src[n/2]) << 16)
	}
}

// combineHalfGeneric is combine(op, dst, unpack(wire)) in one pass, without
// the scratch buffer: dst[i] = dst[i] ⊕ widen(value i of wire). The portable
// combineHalf and the reference of the SIMD one; the operations per element
// are combine's (addGeneric's add, maxInto's rule), so the bits are the same.
func combineHalfGeneric(c Compression, op ReduceOp, dst, wire []float32) {
	wire = wire[:carriers(len(dst))]
	for i := range dst {
		w := math.Float32bits(wire[i/2]) >> (16 * uint(i&1))
		var v float32
		if c == CompressFP16 {
			v = fromFP16(uint16(w))
		} else {
			v = fromBF16(uint16(w))
		}
		if op == Max {
			if v > dst[i] || v != v {
				dst[i] = v
			}
		} else {
			dst[i] += v
		}
	}
}
