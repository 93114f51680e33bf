package ptxsim

import (
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

func fb(f float32) uint32 { return math.Float32bits(f) }
func bf(u uint32) float32 { return math.Float32frombits(u) }

const (
	qnan    = 0x7fc00000
	negNaN  = 0xffc00001
	sub     = 0x00000123 // a subnormal
	negSub  = 0x80400000
	minNorm = 0x00800000
)

// floatVals are f32 corner values (bit patterns).
func floatVals() []uint32 {
	return []uint32{
		fb(0), 0x80000000, fb(1), fb(-1), fb(0.5), fb(1.5), fb(2.5), fb(-2.5), fb(3.7), fb(-3.7),
		fb(1e30), fb(-1e30), fb(3e38), 0x7f800000, 0xff800000, qnan, negNaN, sub, negSub, minNorm,
		fb(2147483648), fb(4e9), fb(5e9), fb(-3e9), fb(1e-20), fb(123456.789),
	}
}

// sameF reports whether got is want, NaNs equal to each other (NaN
// payloads are not canonicalized).
func sameF(got, want uint32) bool {
	g, w := bf(got), bf(want)
	if g != g || w != w {
		return g != g && w != w
	}
	return got == want
}

// isSub reports whether f is subnormal.
func isSub(f float32) bool { return f != 0 && math.Float32bits(f)&0x7f800000 == 0 }

func ftz(f float32) float32 {
	if isSub(f) {
		return float32(math.Copysign(0, float64(f)))
	}
	return f
}

// exactFMA is a·b+c rounded once to float32, computed with big.Float.
func exactFMA(a, b, c float32) float32 {
	if a != a || b != b || c != c || math.IsInf(float64(a), 0) || math.IsInf(float64(b), 0) || math.IsInf(float64(c), 0) {
		return float32(float64(a)*float64(b) + float64(c))
	}
	x := new(big.Float).SetPrec(400).SetFloat64(float64(a))
	x.Mul(x, new(big.Float).SetFloat64(float64(b)))
	x.Add(x, new(big.Float).SetPrec(400).SetFloat64(float64(c)))
	if x.Sign() == 0 { // the sign of an exact zero sum is IEEE's
		return float32(float64(a)*float64(b) + float64(c))
	}
	f, _ := x.Float32()
	return f
}

func TestFMAExact(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	rnd := func() float32 {
		switch r.IntN(4) {
		case 0:
			return bf(r.Uint32())
		case 1:
			return float32(r.NormFloat64())
		case 2: // near-cancelling magnitudes
			return float32(r.NormFloat64() * 1e-8)
		}
		return float32(1+r.IntN(1<<20)) / (1 << 10)
	}
	for range 200000 {
		a, b, c := rnd(), rnd(), rnd()
		if r.IntN(3) == 0 { // c close to -a·b: the hard cases
			c = -float32(float64(a) * float64(b))
			c = bf(fb(c) + uint32(r.IntN(5)) - 2)
		}
		if got, want := fma32(a, b, c), exactFMA(a, b, c); !sameF(fb(got), fb(want)) {
			t.Fatalf("fma32(%g, %g, %g) = %g (%#x), want %g (%#x)", a, b, c, got, fb(got), want, fb(want))
		}
	}
	// A double-rounding case: a·b+c = 1 + 2⁻²³ + 2⁻²⁴ - 2⁻⁵⁴. Rounded to
	// float64 first it becomes the float32 halfway point 1 + 2⁻²³ + 2⁻²⁴,
	// which ties to even (1 + 2⁻²²); rounded once it is 1 + 2⁻²³.
	a := float32(math.Ldexp(1-math.Ldexp(1, -15), -24))
	b := float32(1 + math.Ldexp(1, -15))
	c := float32(1 + math.Ldexp(1, -23))
	if got, want := fma32(a, b, c), c; got != want {
		t.Errorf("double rounding: fma32 = %#x, want %#x", fb(got), fb(want))
	}
}

// floatOpCase is an f32 snippet and its result computed in Go.
type floatOpCase struct {
	snippet string
	want    func(a, b, c uint32) uint32
}

func floatOpCases() []floatOpCase {
	f2 := func(f func(a, b, c float32) float32) func(a, b, c uint32) uint32 {
		return func(a, b, c uint32) uint32 { return fb(f(bf(a), bf(b), bf(c))) }
	}
	ftz2 := func(f func(a, b, c float32) float32) func(a, b, c uint32) uint32 {
		return func(a, b, c uint32) uint32 { return fb(ftz(f(ftz(bf(a)), ftz(bf(b)), ftz(bf(c))))) }
	}
	add := func(a, b, c float32) float32 { return a + b }
	sub := func(a, b, c float32) float32 { return a - b }
	mul := func(a, b, c float32) float32 { return a * b }
	div := func(a, b, c float32) float32 { return a / b }
	fma := func(a, b, c float32) float32 { return exactFMA(a, b, c) }
	neg := func(a, b, c float32) float32 { return -a }
	abs := func(a, b, c float32) float32 { return float32(math.Abs(float64(a))) }
	sqrt := func(a, b, c float32) float32 { return float32(math.Sqrt(float64(a))) }
	rcp := func(a, b, c float32) float32 { return 1 / a }
	return []floatOpCase{
		{"add.f32 %f1, %r2, %r3; mov.b32 %r5, %f1;", f2(add)},
		{"add.rn.f32 %r5, %r2, %r3;", f2(add)},
		{"add.ftz.f32 %r5, %r2, %r3;", ftz2(add)},
		{"add.rn.ftz.f32 %r5, %r2, %r3;", ftz2(add)},
		{"sub.f32 %r5, %r2, %r3;", f2(sub)},
		{"sub.rn.ftz.f32 %r5, %r2, %r3;", ftz2(sub)},
		{"mul.f32 %r5, %r2, %r3;", f2(mul)},
		{"mul.rn.f32 %r5, %r2, 0f40000000;", f2(func(a, b, c float32) float32 { return a * 2 })},
		{"mul.ftz.f32 %r5, %r2, %r3;", ftz2(mul)},
		{"fma.rn.f32 %r5, %r2, %r3, %r4;", f2(fma)},
		{"fma.rn.ftz.f32 %r5, %r2, %r3, %r4;", ftz2(fma)},
		{"div.rn.f32 %r5, %r2, %r3;", f2(div)},
		{"div.full.f32 %r5, %r2, %r3;", f2(div)},
		{"div.approx.f32 %r5, %r2, %r3;", f2(div)},
		{"div.rn.ftz.f32 %r5, %r2, %r3;", ftz2(div)},
		{"div.approx.ftz.f32 %r5, %r2, %r3;", ftz2(div)},
		{"div.full.ftz.f32 %r5, %r2, %r3;", ftz2(div)},
		{"neg.f32 %r5, %r2;", f2(neg)},
		{"neg.ftz.f32 %r5, %r2;", ftz2(neg)},
		{"abs.f32 %r5, %r2;", f2(abs)},
		{"abs.ftz.f32 %r5, %r2;", ftz2(abs)},
		{"sqrt.rn.f32 %r5, %r2;", f2(sqrt)},
		{"sqrt.rn.ftz.f32 %r5, %r2;", ftz2(sqrt)},
		{"rcp.rn.f32 %r5, %r2;", f2(rcp)},
		{"rcp.rn.ftz.f32 %r5, %r2;", ftz2(rcp)},
		{"selp.f32 %r5, %r2, %r3, %p1;", func(a, b, c uint32) uint32 { return b }}, // %p1 starts false
		{"mov.f32 %f1, %r2; mov.b32 %r5, %f1;", func(a, b, c uint32) uint32 { return a }},
		{"mov.f32 %f1, 0fBF800000; mov.b32 %r5, %f1;", func(a, b, c uint32) uint32 { return fb(-1) }},
		{"mov.b32 %r5, 0f3F800000;", func(a, b, c uint32) uint32 { return fb(1) }},
	}
}

func TestFloatOps(t *testing.T) {
	in := cross(floatVals(), floatVals())
	for _, tc := range floatOpCases() {
		t.Run(tc.snippet, func(t *testing.T) {
			got := runOp(t, tc.snippet, in)
			for i, v := range in {
				if w := tc.want(v[0], v[1], v[2]); !sameF(got[i][0], w) {
					t.Fatalf("(%g, %g, %g): got %g (%#x), want %g (%#x)", bf(v[0]), bf(v[1]), bf(v[2]), bf(got[i][0]), got[i][0], bf(w), w)
				}
			}
		})
	}
}

// approxCase is an approximate f32 operation, its float64 counterpart
// and the relative tolerance of the comparison.
type approxCase struct {
	snippet string
	f       func(x float64) float64
	rel     float64
}

func approxCases() []approxCase {
	rsqrt := func(x float64) float64 { return 1 / math.Sqrt(x) }
	return []approxCase{
		{"rsqrt.approx.f32 %r5, %r2;", rsqrt, 1e-6},
		{"rsqrt.approx.ftz.f32 %r5, %r2;", rsqrt, 1e-6},
		{"ex2.approx.f32 %r5, %r2;", math.Exp2, 1e-6},
		{"ex2.approx.ftz.f32 %r5, %r2;", math.Exp2, 1e-6},
		{"lg2.approx.f32 %r5, %r2;", math.Log2, 1e-6},
		{"lg2.approx.ftz.f32 %r5, %r2;", math.Log2, 1e-6},
		{"tanh.approx.f32 %r5, %r2;", math.Tanh, 1e-6},
	}
}

// TestFloatApprox checks the approximate operations against float64
// math within a tolerance (the interpreter computes them exactly and
// rounds; hardware is within a few ulps, tanh within ~2⁻¹¹).
func TestFloatApprox(t *testing.T) {
	vals := floatVals()
	for x := -20.0; x <= 20; x += 0.37 {
		vals = append(vals, fb(float32(x)))
	}
	var in [][3]uint32
	for _, v := range vals {
		in = append(in, [3]uint32{v, 0, 0})
	}
	for _, tc := range approxCases() {
		got := runOp(t, tc.snippet, in)
		ftzOp := strings.Contains(tc.snippet, ".ftz")
		for i, v := range in {
			x := bf(v[0])
			if ftzOp {
				x = ftz(x)
			}
			w, g := tc.f(float64(x)), float64(bf(got[i][0]))
			if ftzOp && isSub(float32(w)) {
				w = 0
			}
			switch {
			case math.IsNaN(w) || math.IsNaN(g):
				if math.IsNaN(w) != math.IsNaN(g) {
					t.Errorf("%s of %g: got %g, want %g", tc.snippet, x, g, w)
				}
			case math.IsInf(w, 0) || w == 0:
				if float32(w) != float32(g) || math.Signbit(w) != math.Signbit(g) {
					t.Errorf("%s of %g: got %g, want %g", tc.snippet, x, g, w)
				}
			case math.Abs(g-w) > tc.rel*math.Abs(w) && !isSub(float32(w)):
				t.Errorf("%s of %g: got %g, want %g", tc.snippet, x, g, w)
			}
		}
	}
}

// pointCase is a snippet, its inputs and its hand-computed result.
type pointCase struct {
	snippet string
	a, b    uint32
	want    uint32
}

// floatSpecialCases are NaN, signed zero, subnormal and rounding cases.
func floatSpecialCases() []pointCase {
	nan := uint32(qnan)
	one, two := fb(1), fb(2)
	return []pointCase{
		{"setp.lt.f32 %p1, %r2, %r3; selp.u32 %r5, 1, 0, %p1;", nan, one, 0},
		{"setp.ltu.f32 %p1, %r2, %r3; selp.u32 %r5, 1, 0, %p1;", nan, one, 1},
		{"setp.ne.f32 %p1, %r2, %r3; selp.u32 %r5, 1, 0, %p1;", nan, nan, 0},
		{"setp.neu.f32 %p1, %r2, %r3; selp.u32 %r5, 1, 0, %p1;", nan, nan, 1},
		{"setp.eq.f32 %p1, %r2, %r3; selp.u32 %r5, 1, 0, %p1;", 0x80000000, 0, 1},
		{"setp.nan.f32 %p1, %r2, %r3; selp.u32 %r5, 1, 0, %p1;", one, nan, 1},
		{"setp.num.f32 %p1, %r2, %r3; selp.u32 %r5, 1, 0, %p1;", one, nan, 0},
		{"setp.eq.ftz.f32 %p1, %r2, %r3; selp.u32 %r5, 1, 0, %p1;", sub, 0, 1},
		{"setp.eq.f32 %p1, %r2, %r3; selp.u32 %r5, 1, 0, %p1;", sub, 0, 0},
		{"min.f32 %r5, %r2, %r3;", nan, two, two},
		{"min.f32 %r5, %r2, %r3;", two, nan, two},
		{"max.f32 %r5, %r2, %r3;", fb(3), nan, fb(3)},
		{"max.f32 %r5, %r2, %r3;", nan, fb(-3), fb(-3)},
		{"min.f32 %r5, %r2, %r3;", nan, nan, 0x7fffffff},
		{"min.f32 %r5, %r2, %r3;", 0, 0x80000000, 0x80000000},
		{"max.f32 %r5, %r2, %r3;", 0x80000000, 0, 0},
		{"min.f32 %r5, %r2, %r3;", fb(-1), two, fb(-1)},
		{"max.ftz.f32 %r5, %r2, %r3;", sub, 0x80000000, 0},
		{"min.ftz.f32 %r5, %r2, %r3;", negSub, 0, 0x80000000},
		{"add.f32 %r5, %r2, %r3;", sub, sub, 2 * sub},
		{"add.ftz.f32 %r5, %r2, %r3;", sub, sub, 0},
		{"mul.rn.ftz.f32 %r5, %r2, %r3;", minNorm, fb(0.5), 0},
		{"mul.rn.f32 %r5, %r2, %r3;", minNorm, fb(0.5), 0x00400000},
		{"neg.f32 %r5, %r2;", 0, 0, 0x80000000},
		{"abs.f32 %r5, %r2;", negNaN, 0, negNaN &^ 0x80000000},
		{"sqrt.rn.f32 %r5, %r2;", 0x80000000, 0, 0x80000000},
		{"rcp.rn.f32 %r5, %r2;", 0x80000000, 0, 0xff800000},
		{"rsqrt.approx.f32 %r5, %r2;", 0, 0, 0x7f800000},
		{"lg2.approx.f32 %r5, %r2;", 0, 0, 0xff800000},
		{"ex2.approx.f32 %r5, %r2;", 0xff800000, 0, 0},
		{"div.rn.f32 %r5, %r2, %r3;", one, fb(3), fb(1.0 / 3)},
		{"tanh.approx.f32 %r5, %r2;", 0x7f800000, 0, one},
	}
}

func TestFloatSpecials(t *testing.T) {
	for _, tc := range floatSpecialCases() {
		got := runOp(t, tc.snippet, [][3]uint32{{tc.a, tc.b, 0}})
		if !sameF(got[0][0], tc.want) || (tc.want == 0x7fffffff && got[0][0] != tc.want) {
			t.Errorf("%s (%#x, %#x): got %#x (%g), want %#x (%g)", tc.snippet, tc.a, tc.b, got[0][0], bf(got[0][0]), tc.want, bf(tc.want))
		}
	}
}

// setpSnippet tests comparison name: 7 or 3 into %r5 by selp.b32, 1
// or 2 into %r6 through a 64-bit selp.
func setpSnippet(name string) string {
	switch name[len(name)-3:] {
	case "s64", "u64":
		return wide64 + name + " %p2, %rd12, %rd13; selp.b32 %r5, 7, 3, %p2; selp.b64 %rd15, 1, 2, %p2; cvt.u32.u64 %r6, %rd15;"
	}
	return name + " %p2, %r2, %r3; selp.b32 %r5, 7, 3, %p2; selp.u64 %rd15, 1, 2, %p2; cvt.u32.u64 %r6, %rd15;"
}

func TestCompareSelect(t *testing.T) {
	type cmpf func(a, b uint32) bool
	fcmp := func(f func(a, b float32) bool, ftzIn bool) cmpf {
		return func(a, b uint32) bool {
			x, y := bf(a), bf(b)
			if ftzIn {
				x, y = ftz(x), ftz(y)
			}
			return f(x, y)
		}
	}
	un := func(x, y float32) bool { return x != x || y != y }
	fl := map[string]func(x, y float32) bool{
		"eq": func(x, y float32) bool { return x == y }, "ne": func(x, y float32) bool { return x < y || x > y },
		"lt": func(x, y float32) bool { return x < y }, "le": func(x, y float32) bool { return x <= y },
		"gt": func(x, y float32) bool { return x > y }, "ge": func(x, y float32) bool { return x >= y },
		"equ": func(x, y float32) bool { return x == y || un(x, y) }, "neu": func(x, y float32) bool { return x != y },
		"ltu": func(x, y float32) bool { return !(x >= y) }, "leu": func(x, y float32) bool { return !(x > y) },
		"gtu": func(x, y float32) bool { return !(x <= y) }, "geu": func(x, y float32) bool { return !(x < y) },
		"num": func(x, y float32) bool { return !un(x, y) }, "nan": un,
	}
	cases := map[string]cmpf{}
	for name, f := range fl {
		cases["setp."+name+".f32"] = fcmp(f, false)
		cases["setp."+name+".ftz.f32"] = fcmp(f, true)
	}
	ints := map[string]func(c int) bool{
		"eq": func(c int) bool { return c == 0 }, "ne": func(c int) bool { return c != 0 }, "lt": func(c int) bool { return c < 0 },
		"le": func(c int) bool { return c <= 0 }, "gt": func(c int) bool { return c > 0 }, "ge": func(c int) bool { return c >= 0 },
	}
	three := func(a, b int64) int {
		switch {
		case a < b:
			return -1
		case a > b:
			return 1
		}
		return 0
	}
	threeU := func(a, b uint64) int {
		switch {
		case a < b:
			return -1
		case a > b:
			return 1
		}
		return 0
	}
	for name, f := range ints {
		cases["setp."+name+".s32"] = func(a, b uint32) bool { return f(three(int64(int32(a)), int64(int32(b)))) }
		cases["setp."+name+".u32"] = func(a, b uint32) bool { return f(threeU(uint64(a), uint64(b))) }
		// The 64-bit forms compare %r2:%r3 against %r4 sign-extended
		// (see wide64), tested with c = b below.
		cases["setp."+name+".s64"] = func(a, b uint32) bool {
			return f(three(int64(uint64(a)<<32|uint64(b)), int64(int32(b))))
		}
		cases["setp."+name+".u64"] = func(a, b uint32) bool {
			return f(threeU(uint64(a)<<32|uint64(b), uint64(int64(int32(b)))))
		}
	}
	var in [][3]uint32
	for _, a := range floatVals() {
		for _, b := range floatVals() {
			in = append(in, [3]uint32{a, b, b})
		}
	}
	for _, a := range intVals() {
		for _, b := range intVals() {
			in = append(in, [3]uint32{a, b, b})
		}
	}
	in = in[:min(len(in), 1024)]
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			got := runOp(t, setpSnippet(name), in)
			for i, v := range in {
				w := [2]uint32{3, 2}
				if want(v[0], v[1]) {
					w = [2]uint32{7, 1}
				}
				if got[i] != w {
					t.Fatalf("%s(%#x, %#x): got %v, want %v", name, v[0], v[1], got[i], w)
				}
			}
		})
	}
}

// conversionCases are cvt cases with hand-computed results.
func conversionCases() []pointCase {
	return []pointCase{
		{"cvt.rzi.s32.f32 %r5, %r2;", fb(-2.7), 0, uint32(0xfffffffe)},
		{"cvt.rzi.s32.f32 %r5, %r2;", fb(2.7), 0, 2},
		{"cvt.rni.s32.f32 %r5, %r2;", fb(2.5), 0, 2},
		{"cvt.rni.s32.f32 %r5, %r2;", fb(3.5), 0, 4},
		{"cvt.rni.s32.f32 %r5, %r2;", fb(-2.5), 0, uint32(0xfffffffe)},
		{"cvt.rni.s32.f32 %r5, %r2;", fb(-2.6), 0, uint32(0xfffffffd)},
		{"cvt.rmi.s32.f32 %r5, %r2;", fb(-2.1), 0, uint32(0xfffffffd)},
		{"cvt.rmi.s32.f32 %r5, %r2;", fb(2.9), 0, 2},
		{"cvt.rpi.s32.f32 %r5, %r2;", fb(2.1), 0, 3},
		{"cvt.rpi.s32.f32 %r5, %r2;", fb(-2.9), 0, uint32(0xfffffffe)},
		{"cvt.rzi.s32.f32 %r5, %r2;", fb(3e9), 0, 0x7fffffff},
		{"cvt.rzi.s32.f32 %r5, %r2;", fb(-3e9), 0, 0x80000000},
		{"cvt.rzi.s32.f32 %r5, %r2;", 0xff800000, 0, 0x80000000},
		{"cvt.rzi.s32.f32 %r5, %r2;", qnan, 0, 0},
		{"cvt.rzi.u32.f32 %r5, %r2;", fb(-1.5), 0, 0},
		{"cvt.rzi.u32.f32 %r5, %r2;", fb(3e9), 0, 3000000000},
		{"cvt.rzi.u32.f32 %r5, %r2;", fb(5e9), 0, 0xffffffff},
		{"cvt.rni.u32.f32 %r5, %r2;", fb(0.5), 0, 0},
		{"cvt.rmi.u32.f32 %r5, %r2;", fb(7.9), 0, 7},
		{"cvt.rpi.u32.f32 %r5, %r2;", fb(7.1), 0, 8},
		{"cvt.rzi.u32.f32 %r5, %r2;", qnan, 0, 0},
		{"cvt.rmi.s32.f32 %r5, %r2;", negSub, 0, 0xffffffff},
		{"cvt.rmi.ftz.s32.f32 %r5, %r2;", negSub, 0, 0},
		{"cvt.rpi.ftz.u32.f32 %r5, %r2;", sub, 0, 0},
		{"cvt.rpi.u32.f32 %r5, %r2;", sub, 0, 1},
		{"cvt.rzi.ftz.s32.f32 %r5, %r2;", fb(-9.5), 0, uint32(0xfffffff7)},
		{"cvt.rni.ftz.s32.f32 %r5, %r2;", fb(9.5), 0, 10},
		{"cvt.rni.ftz.u32.f32 %r5, %r2;", fb(9.5), 0, 10},
		{"cvt.rmi.ftz.u32.f32 %r5, %r2;", fb(9.5), 0, 9},
		{"cvt.rzi.ftz.u32.f32 %r5, %r2;", fb(9.5), 0, 9},
		{"cvt.rpi.ftz.s32.f32 %r5, %r2;", fb(9.5), 0, 10},
		{"cvt.rn.f32.s32 %r5, %r2;", uint32(0xfffffff9), 0, fb(-7)},
		{"cvt.rn.f32.s32 %r5, %r2;", 0x7fffffff, 0, fb(2147483648)},
		{"cvt.rn.f32.s32 %r5, %r2;", 16777217, 0, fb(16777216)}, // ties to even
		{"cvt.rn.f32.s32 %r5, %r2;", 16777219, 0, fb(16777220)},
		{"cvt.rn.f32.u32 %r5, %r2;", 0xffffffff, 0, fb(4294967296)},
		{"cvt.rn.f32.u32 %r5, %r2;", 0x80000000, 0, fb(2147483648)},
	}
}

func TestConversions(t *testing.T) {
	for _, tc := range conversionCases() {
		got := runOp(t, tc.snippet, [][3]uint32{{tc.a, 0, 0}})
		if got[0][0] != tc.want {
			t.Errorf("%s (%#x = %g): got %#x, want %#x", tc.snippet, tc.a, bf(tc.a), got[0][0], tc.want)
		}
	}
}

// coveredSnippets are the snippets of every op test (for
// TestEveryOpcodeTested).
func coveredSnippets() []string {
	var out []string
	for _, c := range intOpCases() {
		out = append(out, c.snippet)
	}
	for _, c := range intCornerCases() {
		out = append(out, c.snippet)
	}
	for _, c := range floatOpCases() {
		out = append(out, c.snippet)
	}
	for _, c := range approxCases() {
		out = append(out, c.snippet)
	}
	for _, c := range floatSpecialCases() {
		out = append(out, c.snippet)
	}
	for _, c := range conversionCases() {
		out = append(out, c.snippet)
	}
	for _, cmp := range []string{"eq", "ne", "lt", "le", "gt", "ge", "equ", "nan"} {
		for _, ty := range []string{"s32", "u32", "s64", "u64", "f32", "ftz.f32"} {
			if len(cmp) == 3 && ty[len(ty)-3] != 'f' {
				continue
			}
			out = append(out, setpSnippet("setp."+cmp+"."+ty))
		}
	}
	return out
}
