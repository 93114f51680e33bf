package quant

import "math"

// quantizeInto writes x[i]/scale rounded half to even and saturated to
// [-128, 127] into dst (NaN becomes 0): ONNX's QuantizeLinear with zero
// point 0, computed the same way (a float32 division), so that an ONNX
// graph of the int8 model quantizes exactly as this package does.
func quantizeInto(dst []int8, x []float32, scale float32) {
	dst = dst[:len(x)]
	done := quantizeSIMD(dst, x, scale)
	quantizeGo(dst[done:], x[done:], scale)
}

// quantizeGo is quantizeInto in Go (the reference of quantizeSIMD).
func quantizeGo(dst []int8, x []float32, scale float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		v /= scale
		switch {
		case v != v:
			dst[i] = 0
		case v >= 127:
			dst[i] = 127
		case v <= -128:
			dst[i] = -128
		default:
			dst[i] = int8(math.RoundToEven(float64(v)))
		}
	}
}

// dotI8 is the int32 sum of a[i]*b[i] (len(a) <= len(b)); four
// independent partial sums keep the loop's dependency chains short.
func dotI8(a, b []int8) int32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 int32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += int32(a[i]) * int32(b[i])
		s1 += int32(a[i+1]) * int32(b[i+1])
		s2 += int32(a[i+2]) * int32(b[i+2])
		s3 += int32(a[i+3]) * int32(b[i+3])
	}
	for ; i < len(a); i++ {
		s0 += int32(a[i]) * int32(b[i])
	}
	return s0 + s1 + s2 + s3
}

// dotF32 is the float32 sum of a[i]*b[i] (len(a) <= len(b)).
func dotF32(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// im2col writes the conv2d patches of one sample x ([C, H, W]) as rows of
// dst: patch p = oy*outW+ox holds x[c, oy*stride+ky-pad, ox*stride+kx-pad]
// (0 outside) at c*k*k+ky*k+kx. dst has outH*outW*C*k*k values.
func im2col[T int8 | float32](dst, x []T, c, h, w, k, pad, stride, outH, outW int) {
	fan := c * k * k
	for oy := range outH {
		for ox := range outW {
			row := dst[(oy*outW+ox)*fan : (oy*outW+ox+1)*fan]
			j := 0
			for ch := range c {
				plane := x[ch*h*w : (ch+1)*h*w]
				for ky := range k {
					y := oy*stride + ky - pad
					for kx := range k {
						xx := ox*stride + kx - pad
						if y < 0 || y >= h || xx < 0 || xx >= w {
							row[j] = 0
						} else {
							row[j] = plane[y*w+xx]
						}
						j++
					}
				}
			}
		}
	}
}

// maxPool writes the k x k (stride) window maxima of x ([C, H, W]) into
// dst ([C, outH, outW]).
func maxPool(dst, x []float32, c, h, w, k, stride, outH, outW int) {
	for ch := range c {
		plane := x[ch*h*w : (ch+1)*h*w]
		for oy := range outH {
			for ox := range outW {
				m := float32(math.Inf(-1))
				for ky := range k {
					for kx := range k {
						m = max(m, plane[(oy*stride+ky)*w+ox*stride+kx])
					}
				}
				dst[(ch*outH+oy)*outW+ox] = m
			}
		}
	}
}

// activate applies relu, tanh or gelu (exact: x*Φ(x)) to x in place.
func activate(op string, x []float32) {
	switch op {
	case opReLU:
		for i, v := range x {
			x[i] = max(v, 0)
		}
	case opTanh:
		for i, v := range x {
			x[i] = float32(math.Tanh(float64(v)))
		}
	case opGELU:
		for i, v := range x {
			x[i] = float32(float64(v) * 0.5 * (1 + math.Erf(float64(v)/math.Sqrt2)))
		}
	}
}

// packPairs packs the int8 rows 2k and 2k+1 of w ([rows][n]) into one
// row of int64: row 2k's value in the low 32 bits, row 2k+1's times 2^32
// (a missing last row is 0). One int64 product with an input value then
// computes both rows' products (dotPacked).
func packPairs(w []int8, rows, n int) []int64 {
	out := make([]int64, (rows+1)/2*n)
	for r := 0; r < rows; r += 2 {
		dst := out[r/2*n : (r/2+1)*n]
		for i := range n {
			v := int64(w[r*n+i])
			if r+1 < rows {
				v += int64(w[(r+1)*n+i]) << 32
			}
			dst[i] = v
		}
	}
	return out
}

// dot2Packed returns the four int32 dot products of x with the two pairs
// of rows packed in p0 and p1 (each as long as x). The packed sum is
// s_lo + s_hi·2^32 with both |s| < 2^31 (the fan-in bound), so s_lo is
// its low 32 bits read as signed and s_hi what remains over 2^32.
func dot2Packed(p0, p1 []int64, x []int8) (s0, s1, s2, s3 int32) {
	n := len(x)
	p0, p1 = p0[:n], p1[:n]
	var a, b int64
	for i, v := range x {
		xv := int64(v)
		a += p0[i] * xv
		b += p1[i] * xv
	}
	s0, s2 = int32(a), int32(b)
	return s0, int32((a - int64(s0)) >> 32), s2, int32((b - int64(s2)) >> 32)
}
