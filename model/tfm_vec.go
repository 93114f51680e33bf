package model

// Elementwise kernels over slices: AVX2/FMA assembly on amd64 for the
// bulk (tfm_vec_amd64.s), the scalar float32 functions of tfm_math.go for
// the tail, other architectures and the purego build (and as the tests'
// reference).

// geluSlice is x[i] = GELU(x[i]) and, when d is not nil, d[i] = GELU'(x[i])
// (d as long as x).
func geluSlice(x, d []float32) {
	bulk := 0
	if useTfmAsm {
		bulk = len(x) &^ 7
		if bulk > 0 {
			if d != nil {
				geluDerivAVX2(&x[0], &d[:bulk][0], bulk)
			} else {
				geluAVX2(&x[0], bulk)
			}
		}
	}
	for i := bulk; i < len(x); i++ {
		y, dy := geluf32(x[i])
		x[i] = y
		if d != nil {
			d[i] = dy
		}
	}
}

// expSum is x[i] = e^((x[i]-m)·scale), returning the sum.
func expSum(x []float32, m, scale float32) float32 {
	bulk := 0
	var sum float32
	if useTfmAsm {
		bulk = len(x) &^ 7
		if bulk > 0 {
			sum = expSumAVX2(&x[0], bulk, m, scale)
		}
	}
	for i := bulk; i < len(x); i++ {
		e := expf32((x[i] - m) * scale)
		x[i] = e
		sum += e
	}
	return sum
}
