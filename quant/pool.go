package quant

import "math"

// poolPlane writes one channel of a conv2d step's fused 2x2 (stride 2)
// max pooling: dst[y*n+i] = deq(max of the window at rows 2y, 2y+1 and
// columns 2i, 2i+1 of plane, whose rows are ld apart), for y < rows and
// i < n, deq = dequantize (float32(v) * scale + bias; bias -0 for none,
// which adds nothing) then, if relu, max(·, 0). It runs in assembly where
// the CPU has AVX2.
func poolPlane(dst []float32, plane []int32, rows, n, ld int, scale, bias float32, relu bool) {
	if rows == 0 || n == 0 {
		return
	}
	dst, plane = dst[:rows*n], plane[:(2*rows-1)*ld+2*n]
	if !poolPlaneSIMD(dst, plane, rows, n, ld, scale, bias, relu) {
		poolPlaneGo(dst, plane, rows, n, ld, scale, bias, relu)
	}
}

// poolPlaneGo is poolPlane in Go (the reference of poolPlaneSIMD).
func poolPlaneGo(dst []float32, plane []int32, rows, n, ld int, scale, bias float32, relu bool) {
	for y := range rows {
		r0, r1 := plane[2*y*ld:2*y*ld+2*n], plane[(2*y+1)*ld:(2*y+1)*ld+2*n]
		d := dst[y*n : (y+1)*n]
		for i := range d {
			d[i] = dequantize(max(r0[2*i], r0[2*i+1], r1[2*i], r1[2*i+1]), scale, bias, relu)
		}
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
