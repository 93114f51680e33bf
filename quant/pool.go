package quant

import "math"

// poolRow writes one output row of a conv2d step's fused 2x2 (stride 2)
// max pooling: dst[i] = deq(max(r0[2i], r0[2i+1], r1[2i], r1[2i+1])),
// r0 and r1 being two rows of int32 sums (at least 2*len(dst) each) and
// deq = dequantize (float32(v) * scale + bias; bias -0 for none, which
// adds nothing) then, if relu, max(·, 0). It runs in assembly where the
// CPU has AVX2.
func poolRow(dst []float32, r0, r1 []int32, scale, bias float32, relu bool) {
	n := len(dst)
	r0, r1 = r0[:2*n], r1[:2*n]
	done := poolRowSIMD(dst, r0, r1, scale, bias, relu)
	poolRowGo(dst[done:], r0[2*done:], r1[2*done:], scale, bias, relu)
}

// poolRowGo is poolRow in Go (the reference of poolRowSIMD).
func poolRowGo(dst []float32, r0, r1 []int32, scale, bias float32, relu bool) {
	r0, r1 = r0[:2*len(dst)], r1[:2*len(dst)]
	for i := range dst {
		dst[i] = dequantize(max(r0[2*i], r0[2*i+1], r1[2*i], r1[2*i+1]), scale, bias, relu)
	}
}

// dequantize is float32(v)*scale + bias (each operation rounded to
// float32, never fused), then, if relu, max(·, 0): -0 to +0, NaN kept.
func dequantize(v int32, scale, bias float32, relu bool) float32 {
	f := float32(float32(v)*scale) + bias
	if !relu {
		return f
	}
	u := math.Float32bits(f) // a conditional move, not a branch on the data's sign
	if f <= 0 {
		u = 0
	}
	return math.Float32frombits(u)
}

// pairs writes the pair words of adjacent values of src into dst:
// dst[i] = pair(src[i], src[i+1]) (src holds len(dst)+1 values), 16 at a
// time in assembly where the CPU has AVX2.
func pairs(dst []int32, src []int8) {
	src = src[:len(dst)+1]
	done := pairsSIMD(dst, src)
	pairsGo(dst[done:], src[done:])
}

// pairsGo is pairs in Go (the reference of pairsSIMD).
func pairsGo(dst []int32, src []int8) {
	src = src[:len(dst)+1]
	for i := range dst {
		dst[i] = pair(src[i], src[i+1])
	}
}
