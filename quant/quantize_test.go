package quant

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestQuantizeSIMD: the AVX2 quantization gives quantizeGo's int8 values
// on every length (the multiple-of-8 part in assembly, the rest in Go),
// for halves (ties to even), the saturation edges, NaN, infinities,
// signed zeros, denormals and random values at several scales.
func TestQuantizeSIMD(t *testing.T) {
	if !haveAVX2 {
		t.Skip("no AVX2: quantizeInto is quantizeGo")
	}
	r := rand.New(rand.NewPCG(31, 32))
	specials := []float32{0, float32(math.Copysign(0, -1)), 0.5, -0.5, 1.5, 2.5, -2.5, 126.5, 127.49, 127.5, -127.5, -128.49, -128.5, -129,
		1e30, -1e30, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), float32(-math.NaN()), 1e-45, -1e-45, math.MaxFloat32}
	for _, scale := range []float32{1, 0.5, 0.0078740157, 3e-39, 7} {
		for n := range 41 {
			x := make([]float32, n)
			for i := range x {
				if r.IntN(3) == 0 {
					x[i] = specials[r.IntN(len(specials))] * scale
				} else {
					x[i] = float32(r.NormFloat64()*80) * scale
				}
			}
			got, want := make([]int8, n), make([]int8, n)
			quantizeInto(got, x, scale)
			quantizeGo(want, x, scale)
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("scale %v, n %d: x[%d] = %v quantizes to %d, Go %d", scale, n, i, x[i], got[i], want[i])
				}
			}
		}
	}
}

// FuzzQuantizeSIMD: on any eight values and scale, the assembly equals Go.
func FuzzQuantizeSIMD(f *testing.F) {
	f.Add(uint32(0x3f000000), uint32(0x7fc00000), uint32(0x42ff0000), float32(0.5))
	f.Fuzz(func(t *testing.T, a, b, c uint32, scale float32) {
		if !haveAVX2 {
			t.Skip("no AVX2")
		}
		x := []float32{math.Float32frombits(a), math.Float32frombits(b), math.Float32frombits(c), -math.Float32frombits(a),
			math.Float32frombits(a ^ b), math.Float32frombits(b ^ c), math.Float32frombits(a + c), math.Float32frombits(c &^ a)}
		got, want := make([]int8, 8), make([]int8, 8)
		if quantizeSIMD(got, x, scale) != 8 {
			t.Fatal("quantizeSIMD did not take 8 values")
		}
		quantizeGo(want, x, scale)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%v / %v: %d, Go %d", x[i], scale, got[i], want[i])
			}
		}
	})
}

// TestPoolPlaneSIMD: the AVX2 fused pooling and dequantizing gives
// poolPlaneGo's float32 bits for row lengths around the 4-wide loop, row
// strides, extreme sums, with and without relu, bias -0 (none) and +0, and
// scales that make -0, NaN (0 times an infinite scale) and infinities.
func TestPoolPlaneSIMD(t *testing.T) {
	if !haveAVX2 {
		t.Skip("no AVX2: poolPlane is poolPlaneGo")
	}
	r := rand.New(rand.NewPCG(41, 42))
	sums := []int32{0, 1, -1, math.MaxInt32, math.MinInt32, 1000, -1000}
	for _, scale := range []float32{0.001, 1e-45, float32(math.Inf(1)), 3} {
		for _, bias := range []float32{float32(math.Copysign(0, -1)), 0, 0.25, -7} {
			for _, relu := range []bool{false, true} {
				for n := range 12 {
					rows, ld := 1+n%3, 2*n+n%5
					plane := make([]int32, (2*rows-1)*ld+2*n)
					for i := range plane {
						plane[i] = int32(r.Uint32()) >> int(r.IntN(32))
						if r.IntN(2) == 0 {
							plane[i] = sums[r.IntN(len(sums))]
						}
					}
					got, want := make([]float32, rows*n), make([]float32, rows*n)
					poolPlane(got, plane, rows, n, ld, scale, bias, relu)
					poolPlaneGo(want, plane, rows, n, ld, scale, bias, relu)
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("scale %v bias %v relu %v rows %d n %d ld %d: out[%d] = %v, Go %v", scale, bias, relu, rows, n, ld, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// TestPairsSIMD: the AVX2 pair words equal pairsGo's on every length and
// on the extremes.
func TestPairsSIMD(t *testing.T) {
	if !haveAVX2 {
		t.Skip("no AVX2: pairs is pairsGo")
	}
	r := rand.New(rand.NewPCG(51, 52))
	for n := range 70 {
		src := randI8(r, n+1)
		if n%3 == 0 {
			for i := range src {
				src[i] = []int8{-128, 127, -1, 0}[r.IntN(4)]
			}
		}
		got, want := make([]int32, n), make([]int32, n)
		pairs(got, src)
		pairsGo(want, src)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("n %d: word %d = %#x, Go %#x", n, i, got[i], want[i])
			}
		}
	}
}
