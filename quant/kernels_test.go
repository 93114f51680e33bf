package quant

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func randI8(r *rand.Rand, n int) []int8 {
	out := make([]int8, n)
	for i := range out {
		out[i] = int8(r.IntN(256) - 128)
	}
	return out
}

// TestDotI8Reference: the int32 dot products (dotI8, and dot2Packed's two
// packed pairs of rows) equal the float64 sums of the
// products (exact: every value is an integer well inside 2^53), for every
// length around the unrolling and the extreme values.
func TestDotI8Reference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 40 {
		a, b := randI8(r, n), randI8(r, n+3)
		var want float64
		for i := range n {
			want += float64(a[i]) * float64(b[i])
		}
		if got := dotI8(a, b); float64(got) != want {
			t.Fatalf("n=%d: dotI8 = %d, want %v", n, got, want)
		}
		rows := [4][]int8{a, randI8(r, n), randI8(r, n), randI8(r, n)}
		flat := append(append(append(append([]int8(nil), rows[0]...), rows[1]...), rows[2]...), rows[3]...)
		packed := packPairs(flat, 4, n)
		p0, p1, p2, p3 := dot2Packed(packed[:n], packed[n:], b[:n])
		for k, got := range []int32{p0, p1, p2, p3} {
			var want float64
			for i := range n {
				want += float64(rows[k][i]) * float64(b[i])
			}
			if float64(got) != want {
				t.Fatalf("n=%d: dot2Packed row %d = %d, want %v", n, k, got, want)
			}
		}
	}
	// The largest fan-in at the extremes (weights -127, inputs -128) does
	// not overflow.
	a, x := make([]int8, maxFanIn), make([]int8, maxFanIn)
	for i := range a {
		a[i], x[i] = -127, -128
	}
	if got, want := dotI8(a, x), float64(maxFanIn)*127*128; float64(got) != want {
		t.Fatalf("fan-in %d of -127*-128: %d, want %v", maxFanIn, got, want)
	}
	// and neither do the packed sums, at either sign in either half
	b := make([]int8, maxFanIn)
	for i := range b {
		b[i] = 127
	}
	for _, pair := range [][2][]int8{{a, b}, {b, a}, {a, a}, {b, b}} {
		p := packPairs(append(slices.Clone(pair[0]), pair[1]...), 2, maxFanIn)
		lo, hi, _, _ := dot2Packed(p, p, x)
		if want := dotI8(pair[0], x); lo != want {
			t.Fatalf("packed low sum %d, want %d", lo, want)
		}
		if want := dotI8(pair[1], x); hi != want {
			t.Fatalf("packed high sum %d, want %d", hi, want)
		}
	}
}

// TestQuantizeIntoReference: ONNX QuantizeLinear's rounding (half to
// even) and saturation ([-128, 127]), NaN to 0, against float64
// math.RoundToEven of the float32 quotient.
func TestQuantizeIntoReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	xs := []float32{0, 0.5, -0.5, 1.5, 2.5, -1.5, -2.5, 1.49, 126.4, 126.5, 127, -127.5, -128.5, 1e9, -1e9, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	for range 1000 {
		xs = append(xs, float32(r.NormFloat64()*60))
	}
	const scale = 0.5
	got := make([]int8, len(xs))
	quantizeInto(got, xs, scale)
	for i, x := range xs {
		want := 0.0
		if !math.IsNaN(float64(x)) {
			want = math.Max(-128, math.Min(127, math.RoundToEven(float64(x/scale))))
		}
		if float64(got[i]) != want {
			t.Errorf("quantize(%v) = %d, want %v", x, got[i], want)
		}
	}
}

// TestInt8ConvReference: the int8 conv2d step (im2col, int32 dot products)
// gives exactly the integer sums of a direct float64 convolution, for
// padding and stride, before the scales: with scales 1 and no bias the
// outputs are the sums themselves.
func TestInt8ConvReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, g := range []struct{ c, h, w, out, k, pad, stride int }{
		{1, 7, 9, 3, 3, 1, 1}, {3, 8, 8, 4, 5, 2, 2}, {2, 6, 5, 2, 2, 0, 3},
	} {
		s := &step{op: opConv, name: "c", in: []int{g.c, g.h, g.w}, out: []int{g.out}, k: g.k, pad: g.pad, stride: g.stride}
		s.out = outShape(s)
		s.qw = randI8(r, g.out*s.fanIn)
		for i := range s.qw {
			s.qw[i] = max(s.qw[i], -127) // a weight's range
		}
		s.packed = packPairs(s.qw, g.out, s.fanIn)
		s.wScale = make([]float32, g.out)
		for i := range s.wScale {
			s.wScale[i] = 1
		}
		s.aScale = 1
		xi := randI8(r, g.c*g.h*g.w)
		for i := range xi {
			xi[i] = max(xi[i], -127) // in the quantized range: the input quantizes to itself
		}
		x := make([]float32, len(xi))
		for i, v := range xi {
			x[i] = float32(v)
		}
		rn := newRunner([]*step{s})
		got := make([]float32, size(s.out))
		rn.int8Step(s, x, got)
		oh, ow := s.out[1], s.out[2]
		for o := range g.out {
			for oy := range oh {
				for ox := range ow {
					var want float64
					for c := range g.c {
						for ky := range g.k {
							for kx := range g.k {
								y, xx := oy*g.stride+ky-g.pad, ox*g.stride+kx-g.pad
								if y < 0 || y >= g.h || xx < 0 || xx >= g.w {
									continue
								}
								want += float64(s.qw[((o*g.c+c)*g.k+ky)*g.k+kx]) * float64(xi[(c*g.h+y)*g.w+xx])
							}
						}
					}
					if v := got[(o*oh+oy)*ow+ox]; float64(v) != want {
						t.Fatalf("%+v: out[%d,%d,%d] = %v, want %v", g, o, oy, ox, v, want)
					}
				}
			}
		}
	}
}

// TestInt8LinearReference: a linear step dequantizes the exact integer sum
// with scale_w[o]*scale_a and adds the bias.
func TestInt8LinearReference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const in, out = 37, 5
	s := &step{op: opLinear, name: "fc", in: []int{in}, out: []int{out}}
	s.out = outShape(s)
	s.qw = randI8(r, in*out)
	s.packed = packPairs(s.qw, out, in)
	s.wScale = []float32{0.5, 0.25, 2, 1, 0.125}
	s.b = []float32{1, -2, 0.5, 0, 3}
	s.aScale = 0.5
	x := make([]float32, in)
	xi := make([]float64, in)
	for i := range x {
		xi[i] = float64(r.IntN(255) - 127)
		x[i] = float32(xi[i] * 0.5) // quantizes to xi with scale 0.5
	}
	got := make([]float32, out)
	newRunner([]*step{s}).int8Step(s, x, got)
	for o := range out {
		var sum float64
		for i := range in {
			sum += float64(s.qw[o*in+i]) * xi[i]
		}
		want := float32(sum)*(s.wScale[o]*s.aScale) + s.b[o]
		if got[o] != want {
			t.Errorf("out[%d] = %v, want %v", o, got[o], want)
		}
	}
}

// TestBestClip: values without outliers keep their largest |x|; an
// outlier that costs less clipped than the coarser steps cost the rest is
// clipped to a percentile; a huge one is kept (its own error dominates).
func TestBestClip(t *testing.T) {
	xs := make([]float32, 100000)
	r := rand.New(rand.NewPCG(9, 10))
	for i := range xs {
		xs[i] = float32(r.Float64())
	}
	if c := bestClip(xs); c < 0.99 {
		t.Errorf("uniform [0,1): clip %v, want its largest value", c)
	}
	xs[0] = 2.5
	if c := bestClip(xs); c > 1 {
		t.Errorf("one outlier of 2.5: clip %v, want a percentile below 1", c)
	}
	xs[0] = 1000
	if c := bestClip(xs); c != 1000 {
		t.Errorf("one outlier of 1000: clip %v, want 1000", c)
	}
	if c := bestClip(make([]float32, 10)); c != 127 {
		t.Errorf("all zeros: clip %v, want 127 (scale 1)", c)
	}
}
