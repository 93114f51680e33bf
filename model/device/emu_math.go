package device

import "math"

// The float32 constants of the PTX kernels (log2(e) is 0f3FB8AA3B and
// ln(2) 0f3F317218 there).
const (
	log2e float32 = math.Log2E
	ln2   float32 = math.Ln2
)

// nan32 is the NaN the kernels write (0f7FFFFFFF).
func nan32() float32 { return math.Float32frombits(0x7FFFFFFF) }

// negInf32 is -inf (0fFF800000).
func negInf32() float32 { return float32(math.Inf(-1)) }

// noIndex is the index a thread's running maximum holds before it has a
// column: above every column, so any column wins a tie against it.
const noIndex = math.MaxInt32

// fmaf32 is fma.rn.f32: x·y + z rounded once to float32. The product of
// two float32 values is exact in float64, so their sum rounded to float64
// is off the exact value by less than half a float64 ulp, and rounding it
// on to float32 is right unless it lands exactly on a midpoint between
// two float32 values (float32(math.FMA(x, y, z)) rounds twice there).
// The fast path sees that it did not; fmaf32Slow handles the rest.
func fmaf32(x, y, z float32) float32 {
	s := float64(x)*float64(y) + float64(z)
	// A float32-normal magnitude (float32 keeps the top 24 of float64's 53
	// significand bits) whose dropped 29 bits are not exactly one half.
	if b := math.Float64bits(s); b&(1<<29-1) != 1<<28 && b>>52&0x7FF >= 1023-126 {
		return float32(s)
	}
	return fmaf32Slow(x, y, z)
}

// fmaf32Slow is fmaf32 for every operand: the sum is rounded to float64
// with round-to-odd (the nearest float64 with the error of round to
// nearest folded into its last bit), after which rounding to float32
// (subnormals included) is the correct single rounding.
func fmaf32Slow(x, y, z float32) float32 {
	p := float64(x) * float64(y)
	w := float64(z)
	s := p + w
	if math.IsInf(s, 0) || math.IsNaN(s) {
		return float32(s)
	}
	// The exact error of the sum (2Sum).
	bb := s - p
	e := (p - (s - bb)) + (w - bb)
	if e != 0 {
		if bits := math.Float64bits(s); bits&1 == 0 {
			if (e > 0) == (s > 0) {
				bits++ // away from zero
			} else {
				bits--
			}
			s = math.Float64frombits(bits)
		}
	}
	return float32(s)
}

// ex2 is ex2.approx.f32, computed exactly and rounded (hardware is within
// a few ulps of it).
func ex2(x float32) float32 { return float32(math.Exp2(float64(x))) }

// lg2 is lg2.approx.f32, computed exactly and rounded.
func lg2(x float32) float32 { return float32(math.Log2(float64(x))) }

// argmaxStep is one step of the kernels' running first maximum: (v, i)
// takes (x, c) if x > v or if it has no column yet.
func argmaxStep(v float32, i int32, x float32, c int32) (float32, int32) {
	if x > v || i == noIndex {
		return x, c
	}
	return v, i
}

// argmaxWins reports whether slot (v2, i2) replaces slot (v1, i1) in the
// tree of the first maximum: a larger value, or an equal one at a smaller
// index.
func argmaxWins(v1 float32, i1 int32, v2 float32, i2 int32) bool {
	return v2 > v1 || (v2 == v1 && uint32(i2) < uint32(i1))
}

// treeSteps calls step(t, s) as the kernels' shared-memory tree does: for
// s = top, top/2, …, 1 and every t < s with t+s < nt, one barrier
// (round) per s; within a round the steps touch disjoint slots.
func treeSteps(top, nt int, step func(t, s int)) {
	for s := top; s > 0; s >>= 1 {
		for t := 0; t < s && t+s < nt; t++ {
			step(t, s)
		}
	}
}
