package allreduce

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// refFormat is the dumb reference for one 16-bit format: every positive
// finite code decoded from its definition in float64, in increasing order.
type refFormat struct {
	name   string
	vals   []float64 // vals[code] for codes 0..maxCode (positive, increasing)
	signal uint16    // sign bit
}

func refFP16() refFormat { return refFormat16("fp16", 10, 15, 0x7bff) }

func refBF16() refFormat { return refFormat16("bf16", 7, 127, 0x7f7f) }

// refFormat16 lists the values of a 16-bit binary float with mbits
// mantissa bits and exponent bias, up to its largest finite code maxCode.
func refFormat16(name string, mbits, bias, maxCode int) refFormat {
	f := refFormat{name: name, signal: 0x8000}
	for code := 0; code <= maxCode; code++ {
		e, m := code>>mbits, code&(1<<mbits-1)
		if e == 0 {
			f.vals = append(f.vals, math.Ldexp(float64(m), 1-bias-mbits))
		} else {
			f.vals = append(f.vals, math.Ldexp(1+float64(m)/float64(int(1)<<mbits), e-bias))
		}
	}
	return f
}

// round is the reference rounding of a finite x: the nearest code by float64
// distance, ties to the even code, saturating at the largest finite code.
func (f refFormat) round(x float32) uint16 {
	v := math.Abs(float64(x))
	var sign uint16
	if math.Signbit(float64(x)) {
		sign = f.signal
	}
	i := sort.SearchFloat64s(f.vals, v) // first vals[i] >= v
	var code int
	switch {
	case i == len(f.vals):
		code = len(f.vals) - 1
	case f.vals[i] == v || i == 0:
		code = i
	default:
		lo, hi := v-f.vals[i-1], f.vals[i]-v
		switch {
		case lo < hi:
			code = i - 1
		case hi < lo:
			code = i
		case i%2 == 0:
			code = i
		default:
			code = i - 1
		}
	}
	return sign | uint16(code)
}

func (f refFormat) decode(code uint16) float64 {
	v := f.vals[code&0x7fff]
	if code&0x8000 != 0 {
		return -v
	}
	return v
}

func TestHalfWidenEveryCode(t *testing.T) {
	fp, bf := refFP16(), refBF16()
	for c := range 1 << 16 {
		code := uint16(c)
		if code&0x7fff <= 0x7bff {
			if got, want := float64(fromFP16(code)), fp.decode(code); got != want || math.Signbit(got) != math.Signbit(want) {
				t.Fatalf("fromFP16(%#04x) = %g, want %g", code, got, want)
			}
		}
		if code&0x7fff <= 0x7f7f {
			if got, want := float64(fromBF16(code)), bf.decode(code); got != want || math.Signbit(got) != math.Signbit(want) {
				t.Fatalf("fromBF16(%#04x) = %g, want %g", code, got, want)
			}
		}
	}
}

// halfInputs: edge cases, every code's value, the midpoints to its neighbour
// (ties) and one float32 ulp either side of them, and random bit patterns.
func halfInputs(f refFormat) []float32 {
	xs := []float32{0, float32(math.Copysign(0, -1)), math.MaxFloat32, -math.MaxFloat32,
		math.SmallestNonzeroFloat32, 65504, 65519, 65520, 65536, 1e6, -1e6, 1e-8, 3e-8, 6e-8,
		5.960464477539063e-08, 2.9802322387695312e-08, 3.3895e38, 3.39e38, 3.4e38}
	for i := range len(f.vals) - 1 {
		for _, v := range []float64{f.vals[i], (f.vals[i] + f.vals[i+1]) / 2} {
			x := float32(v)
			if float64(x) != v {
				continue // midpoint not a float32
			}
			xs = append(xs, x, -x, math.Nextafter32(x, 0), math.Nextafter32(x, math.MaxFloat32))
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		x := math.Float32frombits(rng.Uint32())
		if !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0) {
			xs = append(xs, x)
		}
	}
	return xs
}

func TestHalfRoundMatchesReference(t *testing.T) {
	for _, tc := range []struct {
		ref  refFormat
		conv func(float32) uint16
	}{{refFP16(), toFP16}, {refBF16(), toBF16}} {
		for _, x := range halfInputs(tc.ref) {
			if got, want := tc.conv(x), tc.ref.round(x); got != want {
				t.Fatalf("%s(%g = %#08x) = %#04x, want %#04x", tc.ref.name, x, math.Float32bits(x), got, want)
			}
		}
	}
}

func TestHalfSpecials(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	for _, c := range []Compression{CompressBF16, CompressFP16} {
		if got := c.Round(inf); !math.IsInf(float64(got), 1) {
			t.Errorf("%v: Round(+Inf) = %g", c, got)
		}
		if got := c.Round(-inf); !math.IsInf(float64(got), -1) {
			t.Errorf("%v: Round(-Inf) = %g", c, got)
		}
		if got := c.Round(nan); !math.IsNaN(float64(got)) {
			t.Errorf("%v: Round(NaN) = %g", c, got)
		}
		if got := c.Round(-nan); !math.IsNaN(float64(got)) {
			t.Errorf("%v: Round(-NaN) = %g", c, got)
		}
		if got := c.Round(float32(math.Copysign(0, -1))); got != 0 || !math.Signbit(float64(got)) {
			t.Errorf("%v: Round(-0) = %g, want -0", c, got)
		}
		if got := c.Round(math.MaxFloat32); math.IsInf(float64(got), 0) {
			t.Errorf("%v: Round(MaxFloat32) = %g: a finite gradient became Inf", c, got)
		}
	}
	if got := CompressFP16.Round(1e9); got != 65504 {
		t.Errorf("fp16 Round(1e9) = %g, want 65504 (saturate)", got)
	}
	if got := CompressFP16.Round(-70000); got != -65504 {
		t.Errorf("fp16 Round(-70000) = %g, want -65504 (saturate)", got)
	}
	if got := CompressNone.Round(1.0000001); got != 1.0000001 {
		t.Errorf("none Round changed its input: %g", got)
	}
}

func TestPackUnpackRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range []Compression{CompressBF16, CompressFP16} {
		for _, n := range []int{0, 1, 2, 7, 1000, 1001} {
			src := make([]float32, n)
			for i := range src {
				src[i] = float32(rng.NormFloat64()) * 100
			}
			if n > 0 {
				src[0] = float32(math.NaN())
			}
			wire := pack(c, make([]float32, carriers(n)), src)
			if len(wire) != carriers(n) {
				t.Fatalf("%v n=%d: %d carriers, want %d", c, n, len(wire), carriers(n))
			}
			got := make([]float32, n)
			unpack(c, got, wire)
			for i := range src {
				want := c.Round(src[i])
				if math.Float32bits(got[i]) != math.Float32bits(want) {
					t.Fatalf("%v n=%d [%d]: got %#08x, want %#08x", c, n, i, math.Float32bits(got[i]), math.Float32bits(want))
				}
			}
		}
	}
}

// pack's own (written-out) rounding agrees with Round on every edge case
// of the reference inputs, in both halves of a carrier.
func TestPackMatchesRoundOnEdgeCases(t *testing.T) {
	for _, tc := range []struct {
		c   Compression
		ref refFormat
	}{{CompressFP16, refFP16()}, {CompressBF16, refBF16()}} {
		for _, shift := range []int{0, 1} { // every value in the low half, then in the high half
			src := append(make([]float32, shift), halfInputs(tc.ref)...)
			src = append(src, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()))
			got := make([]float32, len(src))
			unpack(tc.c, got, pack(tc.c, make([]float32, carriers(len(src))), src))
			for i, x := range src {
				want := tc.c.Round(x)
				if math.Float32bits(got[i]) != math.Float32bits(want) && !(x != x && got[i] != got[i]) {
					t.Fatalf("%v: pack/unpack(%g) = %g, Round = %g", tc.c, x, got[i], want)
				}
			}
		}
	}
}

func TestParseCompression(t *testing.T) {
	for _, s := range []string{"", "none", "bf16", "fp16"} {
		c, err := ParseCompression(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if s != "" && c.String() != s {
			t.Errorf("%q parsed as %v", s, c)
		}
	}
	if _, err := ParseCompression("int8"); err == nil {
		t.Error("ParseCompression(int8) accepted")
	}
}
