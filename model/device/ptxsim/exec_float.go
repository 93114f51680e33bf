package ptxsim

import "math"

// f32 reads a slot as float32; fbits stores one.
func f32(v uint64) float32   { return math.Float32frombits(uint32(v)) }
func fbits(f float32) uint64 { return uint64(math.Float32bits(f)) }

// flush is .ftz: a subnormal becomes a zero of its sign.
func flush(f float32) float32 {
	b := math.Float32bits(f)
	if b&0x7f800000 == 0 {
		return math.Float32frombits(b & 0x80000000)
	}
	return f
}

// fma32 is a·b+c rounded once to float32 (fma.rn.f32). a·b is exact in
// float64; the sum is computed exactly as a float64 sum and its error
// (TwoSum), then rounded to odd in float64, so that the final rounding to
// float32 is correct: rounding to nearest through float64 would round
// twice, which is wrong when the first rounding lands on a float32
// halfway point.
func fma32(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	s := p + float64(c)
	if math.IsInf(s, 0) || math.IsNaN(s) || math.IsInf(p, 0) {
		return float32(s)
	}
	bb := s - p
	e := (p - (s - bb)) + (float64(c) - bb)
	if e != 0 {
		bits := math.Float64bits(s)
		if bits&1 == 0 { // even: the odd neighbour towards the exact value
			if (e > 0) == (s > 0) {
				bits++
			} else {
				bits--
			}
		}
		s = math.Float64frombits(bits)
	}
	return float32(s)
}

// minF is min.f32: the smaller operand, -0 below +0; a NaN operand
// yields the other one; two NaNs the canonical NaN.
func minF(a, b float32) float32 {
	switch {
	case a != a && b != b:
		return math.Float32frombits(0x7fffffff)
	case a != a:
		return b
	case b != b:
		return a
	case a < b:
		return a
	case b < a:
		return b
	case math.Signbit(float64(a)):
		return a
	}
	return b
}

// maxF is max.f32: the larger operand, +0 above -0; NaNs as minF.
func maxF(a, b float32) float32 {
	switch {
	case a != a && b != b:
		return math.Float32frombits(0x7fffffff)
	case a != a:
		return b
	case b != b:
		return a
	case a > b:
		return a
	case b > a:
		return b
	case math.Signbit(float64(a)):
		return b
	}
	return a
}

// evalF computes f32 operation op. Operations PTX calls approximate
// (rsqrt, ex2, lg2, tanh, div.approx/full) are computed exactly in
// float64 and rounded to float32: hardware differs from this by a few
// ulps (tanh.approx by up to ~2⁻¹¹ relative), so tests compare with a
// tolerance.
func evalF(op opcode, a, b, c float32) float32 {
	switch op {
	case opAddF:
		return a + b
	case opSubF:
		return a - b
	case opMulF:
		return a * b
	case opFmaF:
		return fma32(a, b, c)
	case opDivF:
		return a / b
	case opNegF:
		return math.Float32frombits(math.Float32bits(a) ^ 0x80000000)
	case opAbsF:
		return math.Float32frombits(math.Float32bits(a) &^ 0x80000000)
	case opMinF:
		return minF(a, b)
	case opMaxF:
		return maxF(a, b)
	case opSqrtF:
		return float32(math.Sqrt(float64(a))) // correctly rounded: float64 has more than 2·24+2 bits
	case opRsqrtF:
		return float32(1 / math.Sqrt(float64(a)))
	case opRcpF:
		return 1 / a
	case opEx2F:
		return float32(math.Exp2(float64(a)))
	case opLg2F:
		return float32(math.Log2(float64(a)))
	case opTanhF:
		return float32(math.Tanh(float64(a)))
	}
	return float32(math.NaN()) // not reached: the decoder emits only the cases above
}

// cmpF is the setp outcome bit of comparing a and b.
func cmpF(a, b float32) uint8 {
	switch {
	case a < b:
		return outLT
	case a > b:
		return outGT
	case a == b:
		return outEQ
	}
	return outUN
}

// cvtF2I is cvt.{rzi,rni,rmi,rpi}{.ftz}.{s32,u32}.f32: round to an
// integer by the mode, saturate to the destination's range, NaN → 0.
func cvtF2I(f float32, mode uint8) uint32 {
	if mode&cvtFtz != 0 {
		f = flush(f)
	}
	x := float64(f)
	if x != x {
		return 0
	}
	switch mode & cvtRound {
	case cvtRZI:
		x = math.Trunc(x)
	case cvtRNI:
		x = math.RoundToEven(x)
	case cvtRMI:
		x = math.Floor(x)
	case cvtRPI:
		x = math.Ceil(x)
	}
	if mode&cvtSigned != 0 {
		switch {
		case x <= math.MinInt32:
			return 1 << 31
		case x >= math.MaxInt32:
			return math.MaxInt32
		}
		return uint32(int32(x))
	}
	switch {
	case x <= 0:
		return 0
	case x >= math.MaxUint32:
		return math.MaxUint32
	}
	return uint32(x)
}
