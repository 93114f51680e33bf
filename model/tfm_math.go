package model

import "math"

// Elementwise math of the transformer in float32: exp for the attention
// softmax and the exact (erf) GELU with its derivative. math.Exp and
// math.Erf in float64 cost several times more than these, and the
// transformer calls them on every activation of every pass.

// expf32 is e^x in float32 (Cephes' expf: x = k·ln2 + r, |r| <= ln2/2, a
// degree-6 polynomial for e^r, 2^k by the exponent bits), within 2 ulp
// for normal results; 0 below -87.33 (where e^x is subnormal), +Inf above
// 88.72, NaN for NaN.
func expf32(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
	)
	switch {
	case x > 88.72283:
		return float32(math.Inf(1))
	case x < -87.33654:
		return 0
	case x != x:
		return x
	}
	f := x * log2e
	ki := int32(f + 0.5) // round to nearest (truncation towards 0, shifted)
	if f < 0 {
		ki = int32(f - 0.5)
	}
	k := float32(ki)
	r := x - k*ln2hi - k*ln2lo
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	p = p*r*r + r + 1
	if ki > 127 { // 2^128 is not a float32: scale in two steps
		return p * math.Float32frombits(uint32(127+127)<<23) * 2
	}
	return p * math.Float32frombits(uint32(ki+127)<<23)
}

// geluf32 is GELU(z) = z·Φ(z) = z/2·(1 + erf(z/√2)), PyTorch's
// F.gelu(approximate="none"), and its derivative Φ(z) + z·φ(z). erf is
// Abramowitz and Stegun's 7.1.26 (absolute error below 1.5e-7, the
// formula of PyTorch's vectorized CPU erf), and e^(-z²/2) serves both the
// erf and φ. For z < 0, Φ(z) is computed directly as the small tail
// (no cancellation in 1 - erf).
func geluf32(z float32) (y, dy float32) {
	const (
		invSqrt2   = 0.70710678118654752
		invSqrt2Pi = 0.39894228040143268
		p          = 0.3275911
		a1         = 0.254829592
		a2         = -0.284496736
		a3         = 1.421413741
		a4         = -1.453152027
		a5         = 1.061405429
	)
	u := z * invSqrt2
	if u < 0 {
		u = -u
	}
	t := 1 / (1 + p*u)
	e := expf32(-0.5 * z * z)
	tail := 0.5 * ((((a5*t+a4)*t+a3)*t+a2)*t + a1) * t * e // Φ(-|z|)
	cdf := tail
	if z >= 0 {
		cdf = 1 - tail
	}
	return z * cdf, cdf + z*e*invSqrt2Pi
}
