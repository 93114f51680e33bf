package allreduce

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The SIMD kernels of pack, unpack and combineHalf (half_amd64.s) against
// the scalar code of half.go (packGeneric, unpackGeneric,
// combineHalfGeneric), bit for bit. On other architectures both sides are
// the scalar code and the tests pass trivially.

var bothHalfFormats = []Compression{CompressBF16, CompressFP16}

// carrierBits packs 16-bit codes two per carrier slot, value order.
func carrierBits(codes []uint16) []float32 {
	w := make([]float32, carriers(len(codes)))
	for i, h := range codes {
		b := math.Float32bits(w[i/2]) | uint32(h)<<(16*uint(i&1))
		w[i/2] = math.Float32frombits(b)
	}
	return w
}

func firstBitDiff(a, b []float32) int {
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

// Every 16-bit code (NaNs of every payload and sign included) widens to
// unpackGeneric's bits, and adds to a float32 as combineHalfGeneric does.
func TestHalfSIMDWidenEveryCode(t *testing.T) {
	codes := make([]uint16, 1<<16)
	for i := range codes {
		codes[i] = uint16(i)
	}
	wire := carrierBits(codes)
	rng := rand.New(rand.NewPCG(5, 6))
	acc := make([]float32, len(codes))
	for i := range acc {
		switch i % 5 {
		case 0:
			acc[i] = float32(math.NaN())
		case 1:
			acc[i] = float32(math.Inf(1 - 2*(i/5%2)))
		default:
			acc[i] = float32(rng.NormFloat64())
		}
	}
	for _, c := range bothHalfFormats {
		got, want := make([]float32, len(codes)), make([]float32, len(codes))
		unpack(c, got, wire)
		unpackGeneric(c, want, wire)
		if i := firstBitDiff(got, want); i >= 0 {
			t.Fatalf("%v: unpack(%#04x) = %#08x, scalar %#08x", c, codes[i], math.Float32bits(got[i]), math.Float32bits(want[i]))
		}
		for _, op := range []ReduceOp{Sum, Mean, Max} {
			got, want := append([]float32(nil), acc...), append([]float32(nil), acc...)
			combineHalf(c, op, got, wire)
			combineHalfGeneric(c, op, want, wire)
			if i := firstBitDiff(got, want); i >= 0 {
				t.Fatalf("%v %v: %#08x ⊕ %#04x = %#08x, scalar %#08x", c, op, math.Float32bits(acc[i]), codes[i], math.Float32bits(got[i]), math.Float32bits(want[i]))
			}
			// and the scalar fused loop is unpack then combine
			ref := append([]float32(nil), acc...)
			tmp := make([]float32, len(codes))
			unpackGeneric(c, tmp, wire)
			combine(op, ref, tmp)
			if i := firstBitDiff(want, ref); i >= 0 {
				t.Fatalf("%v %v: combineHalfGeneric %#08x, unpack+combine %#08x", c, op, math.Float32bits(want[i]), math.Float32bits(ref[i]))
			}
		}
	}
}

// simdPackInputs: the reference's edge cases (every code, the ties between
// codes and a float32 ulp either side, saturation and underflow edges),
// every exponent with significands near the rounding bit, ±Inf, NaNs of
// many payloads, float32 subnormals, and random bit patterns.
func simdPackInputs() []float32 {
	var xs []float32
	xs = append(xs, halfInputs(refFP16())...)
	xs = append(xs, halfInputs(refBF16())...)
	for _, b := range []uint32{0x7f800000, 0x7f800001, 0x7fbfffff, 0x7fc00000, 0x7fffffff, 0x7f802000, 0x7f801fff,
		0x7f7f7fff, 0x7f7f8000, 0x7f7fffff, 0x7f7f8001, 0x7f7effff, 0x477fe000, 0x477fefff, 0x477ff000, 0x477ff001,
		0x47800000, 0x33000000, 0x33000001, 0x32ffffff, 0x33800000, 0x387fe000, 0x387ff000, 0x38800000,
		0x00000001, 0x007fffff, 0x00008000, 0x00018000, 0x00017fff, 0x80000000} {
		xs = append(xs, math.Float32frombits(b), math.Float32frombits(b|0x80000000))
	}
	for e := uint32(0); e < 256; e++ {
		for _, m := range []uint32{0, 1, 0x7fff, 0x8000, 0x8001, 0x18000, 0xfff, 0x1000, 0x1001, 0x3000, 0x7fffff, 0x7fe000, 0x7ff000} {
			b := e<<23 | m
			xs = append(xs, math.Float32frombits(b), math.Float32frombits(b|0x80000000))
		}
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 200000 {
		xs = append(xs, math.Float32frombits(rng.Uint32()))
	}
	return xs
}

func TestHalfSIMDPackMatchesScalar(t *testing.T) {
	xs := simdPackInputs()
	for _, c := range bothHalfFormats {
		for _, shift := range []int{0, 1, 5} { // each value in the low and in the high half, and in another lane
			src := append(make([]float32, shift), xs...)
			got := pack(c, make([]float32, carriers(len(src))), src)
			want := packGeneric(c, make([]float32, carriers(len(src))), src)
			if i := firstBitDiff(got, want); i >= 0 {
				t.Fatalf("%v: carrier %d (inputs %#08x %#08x) = %#08x, scalar %#08x", c, i,
					math.Float32bits(src[2*i]), math.Float32bits(src[min(2*i+1, len(src)-1)]), math.Float32bits(got[i]), math.Float32bits(want[i]))
			}
		}
	}
}

// Every NaN pattern (2^23 - 1 payloads per sign, as NaN's significand
// bits) packs to toBF16's and toFP16's NaN.
func TestHalfSIMDPackEveryNaN(t *testing.T) {
	if testing.Short() {
		t.Skip("16M values")
	}
	src := make([]float32, 1<<23)
	for _, sign := range []uint32{0, 0x80000000} {
		for i := range src {
			src[i] = math.Float32frombits(sign | 0x7f800000 | uint32(i))
		}
		src[0] = math.Float32frombits(sign | 0x7f800000) // Inf
		for _, c := range bothHalfFormats {
			got := pack(c, make([]float32, carriers(len(src))), src)
			want := packGeneric(c, make([]float32, carriers(len(src))), src)
			if i := firstBitDiff(got, want); i >= 0 {
				t.Fatalf("%v: carrier %d = %#08x, scalar %#08x", c, i, math.Float32bits(got[i]), math.Float32bits(want[i]))
			}
		}
	}
}

// Every length 0..70 and a few longer odd ones, at every start offset
// modulo 8 of the source and destination: the SIMD block, the scalar tail,
// a trailing half carrier when the length is odd, nothing written past
// carriers(n) or len(dst).
func TestHalfSIMDLengthsAndOffsets(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	lengths := []int{1001, 4097, 65537}
	for n := range 71 {
		lengths = append(lengths, n)
	}
	const guard = 0x5a5a5a5a
	for _, c := range bothHalfFormats {
		for _, n := range lengths {
			for off := range 8 {
				srcAll := make([]float32, off+n)
				for i := range srcAll {
					srcAll[i] = float32(rng.NormFloat64() * math.Exp2(float64(rng.IntN(40)-20)))
				}
				src := srcAll[off:]
				nc := carriers(n)
				// pack
				got := make([]float32, off+nc+4)
				want := make([]float32, nc)
				for i := range got {
					got[i] = math.Float32frombits(guard)
				}
				packed := pack(c, got[off:off+nc:off+nc+4], src)
				packGeneric(c, want, src)
				if len(packed) != nc {
					t.Fatalf("%v n=%d: pack gave %d carriers, want %d", c, n, len(packed), nc)
				}
				if i := firstBitDiff(packed, want); i >= 0 {
					t.Fatalf("%v n=%d off=%d: carrier %d = %#08x, scalar %#08x", c, n, off, i, math.Float32bits(packed[i]), math.Float32bits(want[i]))
				}
				for i, v := range append(got[:off:off], got[off+nc:]...) {
					if math.Float32bits(v) != guard {
						t.Fatalf("%v n=%d off=%d: pack wrote outside its carriers (guard %d)", c, n, off, i)
					}
				}
				// unpack and combineHalf, the wire misaligned too
				wireAll := append(make([]float32, off), want...)
				wire := wireAll[off:]
				u, ug := make([]float32, off+n+4), make([]float32, n)
				for i := range u {
					u[i] = math.Float32frombits(guard)
				}
				unpack(c, u[off:off+n], wire)
				unpackGeneric(c, ug, wire)
				if i := firstBitDiff(u[off:off+n], ug); i >= 0 {
					t.Fatalf("%v n=%d off=%d: unpack [%d] = %#08x, scalar %#08x", c, n, off, i, math.Float32bits(u[off+i]), math.Float32bits(ug[i]))
				}
				for _, v := range append(u[:off:off], u[off+n:]...) {
					if math.Float32bits(v) != guard {
						t.Fatalf("%v n=%d off=%d: unpack wrote outside dst", c, n, off)
					}
				}
				for _, op := range []ReduceOp{Sum, Max} {
					d := append([]float32(nil), srcAll...)
					dg := append([]float32(nil), src...)
					combineHalf(c, op, d[off:], wire)
					combineHalfGeneric(c, op, dg, wire)
					if i := firstBitDiff(d[off:], dg); i >= 0 {
						t.Fatalf("%v %v n=%d off=%d: combineHalf [%d] = %#08x, scalar %#08x", c, op, n, off, i, math.Float32bits(d[off+i]), math.Float32bits(dg[i]))
					}
					if i := firstBitDiff(d[:off], srcAll[:off]); i >= 0 {
						t.Fatalf("%v %v n=%d off=%d: combineHalf wrote before dst", c, op, n, off)
					}
				}
			}
		}
	}
}

// FuzzHalfSIMD: arbitrary bytes as float32 bit patterns (any length);
// pack, unpack and combineHalf agree with the scalar code bit for bit.
func FuzzHalfSIMD(f *testing.F) {
	f.Add([]byte{0, 0, 0x80, 0x7f, 1, 0, 0xc0, 0xff}, uint8(0))
	f.Add(make([]byte, 4*33), uint8(1))
	seed := make([]byte, 4*64)
	for i := range seed {
		seed[i] = byte(i*37 + 11)
	}
	f.Add(seed, uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, off uint8) {
		n := len(data) / 4
		o := int(off % 8)
		src := make([]float32, o+n)[o:]
		for i := range n {
			src[i] = math.Float32frombits(uint32(data[4*i]) | uint32(data[4*i+1])<<8 | uint32(data[4*i+2])<<16 | uint32(data[4*i+3])<<24)
		}
		for _, c := range bothHalfFormats {
			got := pack(c, make([]float32, carriers(n)), src)
			want := packGeneric(c, make([]float32, carriers(n)), src)
			if i := firstBitDiff(got, want); i >= 0 {
				t.Fatalf("%v: pack carrier %d = %#08x, scalar %#08x", c, i, math.Float32bits(got[i]), math.Float32bits(want[i]))
			}
			// the input bytes read as carriers too: every code pattern
			wire := src[:carriers(n)]
			u, ug := make([]float32, n-n%2), make([]float32, n-n%2)
			unpack(c, u, wire)
			unpackGeneric(c, ug, wire)
			if i := firstBitDiff(u, ug); i >= 0 {
				t.Fatalf("%v: unpack [%d] = %#08x, scalar %#08x", c, i, math.Float32bits(u[i]), math.Float32bits(ug[i]))
			}
			for _, op := range []ReduceOp{Sum, Max} {
				d, dg := append([]float32(nil), ug...), append([]float32(nil), ug...)
				combineHalf(c, op, d, wire)
				combineHalfGeneric(c, op, dg, wire)
				if i := firstBitDiff(d, dg); i >= 0 {
					t.Fatalf("%v %v: combineHalf [%d] = %#08x, scalar %#08x", c, op, i, math.Float32bits(d[i]), math.Float32bits(dg[i]))
				}
			}
		}
	})
}

// BenchmarkHalfConvert: GB/s of float32 values (b.SetBytes = 4 bytes per
// value) through each kernel, SIMD against the scalar reference, on a
// segment-sized buffer (1 MiB of float32, in cache) and a 16 MiB one.
func BenchmarkHalfConvert(b *testing.B) {
	for _, n := range []int{256 << 10, 4 << 20} {
		src := make([]float32, n)
		rng := rand.New(rand.NewPCG(1, 1))
		for i := range src {
			src[i] = float32(rng.NormFloat64())
		}
		wire := make([]float32, carriers(n))
		dst := make([]float32, n) // unpack's output
		acc := make([]float32, n) // the adds' (src is never written)
		// the float32 path's per-element work, for scale: a copy (what the
		// loopback socket costs twice per value sent) and the add
		b.Run(fmt.Sprintf("none/%dKiB/copy", n*4>>10), func(b *testing.B) {
			b.SetBytes(int64(4 * n))
			for b.Loop() {
				copy(dst, src)
			}
		})
		b.Run(fmt.Sprintf("none/%dKiB/add", n*4>>10), func(b *testing.B) {
			b.SetBytes(int64(4 * n))
			for b.Loop() {
				addInto(acc, src)
			}
		})
		for _, c := range bothHalfFormats {
			packGeneric(c, wire, src)
			for _, k := range []struct {
				name string
				fn   func()
			}{
				{"pack/simd", func() { pack(c, wire, src) }},
				{"pack/scalar", func() { packGeneric(c, wire, src) }},
				{"unpack/simd", func() { unpack(c, dst, wire) }},
				{"unpack/scalar", func() { unpackGeneric(c, dst, wire) }},
				{"unpack+add/scalar", func() { unpackGeneric(c, dst, wire); combine(Sum, acc, dst) }},
				{"combineHalf/simd", func() { combineHalf(c, Sum, acc, wire) }},
				{"combineHalf/scalar", func() { combineHalfGeneric(c, Sum, acc, wire) }},
			} {
				b.Run(fmt.Sprintf("%v/%dKiB/%s", c, n*4>>10, k.name), func(b *testing.B) {
					b.SetBytes(int64(4 * n))
					for b.Loop() {
						k.fn()
					}
				})
			}
		}
	}
}
