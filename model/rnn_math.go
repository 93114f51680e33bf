package model

import "math"

// The recurrent layers' activations, in float32 (Cephes' expf and tanhf
// polynomials, no tables): about 1 ulp of float32 from the exact values.
// The kernels call them on slices (sigmoidAdd, tanhAdd), eight lanes at a
// time in AVX2 and FMA where the CPU has them (rnn_act_amd64.s, about 6
// times faster than this scalar code), which rounds slightly differently
// (FMA; so may Go's compiler on architectures where it fuses
// multiply-adds): results are bitwise deterministic for a given binary
// and CPU feature set. The tests check both against float64 math
// (TestRNNActivations, TestRNNActivationSlices).

// expf is e^x for x in [-87, 88] (callers clamp): Cody-Waite reduction
// x = n·ln2 + r, |r| <= ln2/2, then a degree-6 polynomial for e^r and
// 2^n put straight into the exponent bits.
func expf(x float32) float32 {
	// n = round(x/ln2): adding 1.5·2^23 leaves no fraction bits in float32.
	n := x*1.44269504088896341 + 12582912
	n -= 12582912
	x -= n * 0.693359375
	x -= n * -2.12194440e-4
	z := x * x
	p := ((((1.9875691500e-4*x+1.3981999507e-3)*x+8.3334519073e-3)*x+4.1665795894e-2)*x+1.6666665459e-1)*x + 5.0000001201e-1
	p = p*z + x + 1
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}

// sigmoid is 1/(1+e^-x).
func sigmoid(x float32) float32 {
	// Beyond ±87 the result is 0 or 1 to float32 precision (a NaN falls
	// through both tests and stays NaN).
	if x < -87 {
		x = -87
	} else if x > 87 {
		x = 87
	}
	return 1 / (1 + expf(-x))
}

// tanhf is tanh(x): an odd polynomial near 0 (where 1-2/(e^2x+1) would
// cancel), the exponential form elsewhere.
func tanhf(x float32) float32 {
	a := x
	if a < 0 {
		a = -a
	}
	if a < 0.625 {
		z := x * x
		return ((((-5.70498872745e-3*z+2.06390887954e-2)*z-5.37397155531e-2)*z+1.33314422036e-1)*z-3.33332819422e-1)*z*x + x
	}
	if a > 43 { // tanh(43) is 1 to float32 precision
		a = 43
	}
	t := 1 - 2/(expf(2*a)+1)
	if x < 0 {
		return -t
	}
	return t
}

// sigmoidAdd is dst[j] = sigmoid(a[j] + b[j]) for j < len(dst) (a and b
// at least as long; dst may be a): eight lanes at a time in AVX2 where
// the CPU has it (a few ulps from the scalar function: FMA rounds once),
// the scalar function for the rest.
func sigmoidAdd(dst, a, b []float32) {
	n := len(dst)
	a, b = a[:n], b[:n]
	k := 0
	if useRNNAsm && n >= 8 {
		k = n &^ 7
		sigmoidAddAVX2(&dst[0], &a[0], &b[0], k)
	}
	for j := k; j < n; j++ {
		dst[j] = sigmoid(a[j] + b[j])
	}
}

// tanhAdd is dst[j] = tanh(a[j] + b[j]), like sigmoidAdd.
func tanhAdd(dst, a, b []float32) {
	n := len(dst)
	a, b = a[:n], b[:n]
	k := 0
	if useRNNAsm && n >= 8 {
		k = n &^ 7
		tanhAddAVX2(&dst[0], &a[0], &b[0], k)
	}
	for j := k; j < n; j++ {
		dst[j] = tanhf(a[j] + b[j])
	}
}
