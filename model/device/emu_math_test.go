package device

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// exactFMA32 is x·y + z computed exactly and rounded once to float32
// (nearest, ties to even; subnormals included). Infinities, NaNs and an
// exact zero sum (whose sign IEEE fixes) round nothing: math.FMA has them
// right.
func exactFMA32(x, y, z float32) float32 {
	twice := float32(math.FMA(float64(x), float64(y), float64(z)))
	for _, v := range []float32{x, y, z, twice} {
		if math.IsInf(float64(v), 0) || v != v {
			return twice
		}
	}
	s := new(big.Float).SetPrec(1000).SetFloat64(float64(x))
	s.Mul(s, new(big.Float).SetFloat64(float64(y)))
	s.Add(s, new(big.Float).SetFloat64(float64(z)))
	if s.Sign() == 0 {
		return twice
	}
	f, _ := s.Float32()
	return f
}

// TestFMAF32 checks fma.rn.f32's emulation against exact arithmetic,
// where float32(math.FMA(…)) rounds twice, and on random operands across
// exponents (subnormal results, cancellation).
func TestFMAF32(t *testing.T) {
	one := float32(1)
	cases := [][3]float32{
		// x·y = -2⁻²⁴(1-2⁻³⁶), z = 1+2⁻²³: exactly 1 + 2⁻²⁴ + 2⁻⁶⁰, just
		// above the midpoint between 1 and 1+2⁻²³; rounding to float64
		// first lands on the midpoint and then on 1.
		{float32(math.Ldexp(1-math.Ldexp(1, -18), -12)), -float32(math.Ldexp(1+math.Ldexp(1, -18), -12)), one + float32(math.Ldexp(1, -23))},
		{2, 3, 4},
		{float32(math.Copysign(0, -1)), 1, float32(math.Copysign(0, -1))},
		{1, 1, -1},
		{float32(math.Inf(1)), 0, 1},
		{float32(math.Inf(1)), 1, float32(math.Inf(-1))},
		{math.MaxFloat32, 2, -math.MaxFloat32},
		{math.SmallestNonzeroFloat32, 0.5, 0},
		{math.SmallestNonzeroFloat32, 1.5, 0},
	}
	if got, twice := fmaf32(cases[0][0], cases[0][1], cases[0][2]), float32(math.FMA(float64(cases[0][0]), float64(cases[0][1]), float64(cases[0][2]))); got == twice {
		t.Errorf("the double-rounding case rounds like float32(math.FMA) (%v): the case is not one", got)
	}
	r := rand.New(rand.NewPCG(1, 2))
	f := func() float32 {
		return float32(math.Ldexp(r.Float64()*2-1, r.IntN(80)-40))
	}
	for range 200000 {
		x, y := f(), f()
		z := f()
		if r.IntN(4) == 0 { // cancellation: z ≈ -x·y
			z = -float32(float64(x)*float64(y)) * float32(1+math.Ldexp(r.Float64()-0.5, -20))
		}
		if r.IntN(8) == 0 { // results near and below the subnormal range
			x = float32(math.Ldexp(float64(x), -60))
			y = float32(math.Ldexp(float64(y), -60))
			z = float32(math.Ldexp(float64(z), -130))
		}
		cases = append(cases, [3]float32{x, y, z})
	}
	for _, c := range cases {
		want := exactFMA32(c[0], c[1], c[2])
		for _, f := range []struct {
			name string
			fma  func(x, y, z float32) float32
		}{{"fmaf32", fmaf32}, {"fmaf32Slow", fmaf32Slow}} {
			got := f.fma(c[0], c[1], c[2])
			if math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
				t.Fatalf("%s(%g, %g, %g) = %g (%#08x), want %g (%#08x)", f.name, c[0], c[1], c[2], got, math.Float32bits(got), want, math.Float32bits(want))
			}
		}
	}
}

// TestKernelConstants: the Go twins use the PTX's constants bit for bit.
func TestKernelConstants(t *testing.T) {
	for _, c := range []struct {
		name string
		v    float32
		bits uint32
	}{
		{"log2e", log2e, 0x3FB8AA3B},
		{"ln2", ln2, 0x3F317218},
		{"nan32", nan32(), 0x7FFFFFFF},
		{"negInf32", negInf32(), 0xFF800000},
	} {
		if got := math.Float32bits(c.v); got != c.bits {
			t.Errorf("%s = %#08x, the PTX uses 0f%08X", c.name, got, c.bits)
		}
	}
}
