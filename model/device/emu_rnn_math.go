package device

import "math"

// The activations of the recurrent kernels (kernels/rnn.ptx), as their
// PTX computes them, instruction by instruction (every float32 product
// and sum rounded on its own, never fused, unless it is an fma there).

// The float32 constants of rnn.ptx.
const (
	negLog2e  float32 = -log2e            // 0fBFB8AA3B
	twoLog2e  float32 = 2 * log2e         // 0f4038AA3B
	tanhSmall float32 = 0.625             // 0f3F200000: below it tanh's polynomial
	tanhC4    float32 = -5.70498872745e-3 // 0fBBBAF0EA
	tanhC3    float32 = 2.06390887954e-2  // 0f3CA9134E
	tanhC2    float32 = -5.37397155531e-2 // 0fBD5C1E2D
	tanhC1    float32 = 1.33314422036e-1  // 0f3E088393
	tanhC0    float32 = -3.33332819422e-1 // 0fBEAAAA99
)

// sigmoidK is the kernels' σ(x) = 1/(1 + 2^(−x·log2 e)): mul.rn, ex2,
// add.rn, rcp.rn. Large |x| needs no clamp: 2^(+big) is +inf and 1/inf
// is 0; 2^(−big) is 0 and the result 1; NaN stays NaN.
func sigmoidK(x float32) float32 {
	e := ex2(float32(x * negLog2e))
	return 1 / float32(e+1)
}

// tanhK is the kernels' tanh(x): for |x| < 0.625 the odd polynomial of
// the CPU's tanhf (Cephes) in fmas, z = x², p = ((((c4·z + c3)·z + c2)·z
// + c1)·z + c0), tanh = fma(p·z, x, x), where 1 − 2/(e^2x+1) would
// cancel; elsewhere sign(x)·(1 − 2/(2^(2|x|·log2 e) + 1)), which is ±1 for
// large |x| (2^big = +inf, 2/inf = 0) and NaN for NaN.
func tanhK(x float32) float32 {
	a := float32(math.Abs(float64(x))) // abs.f32
	if a < tanhSmall {
		z := float32(x * x)
		p := fmaf32(tanhC4, z, tanhC3)
		p = fmaf32(p, z, tanhC2)
		p = fmaf32(p, z, tanhC1)
		p = fmaf32(p, z, tanhC0)
		p = float32(p * z)
		return fmaf32(p, x, x)
	}
	e := ex2(float32(a * twoLog2e))
	t := 1 - float32(2/float32(e+1))
	if x < 0 {
		return -t
	}
	return t
}
