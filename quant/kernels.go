package quant

import "math"

// quantizeInto writes x[i]/scale rounded half to even and saturated to
// [-128, 127] into dst (NaN becomes 0): ONNX's QuantizeLinear with zero
// point 0, computed the same way (a float32 division), so that an ONNX
// graph of the int8 model quantizes exactly as this package does.
func quantizeInto(dst []int8, x []float32, scale float32) {
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

// dot4I8 is dotI8 of four rows against the same x (each row as long as
// x): x is loaded once for four products.
func dot4I8(w0, w1, w2, w3, x []int8) (s0, s1, s2, s3 int32) {
	n := len(x)
	w0, w1, w2, w3 = w0[:n], w1[:n], w2[:n], w3[:n]
	for i, v := range x {
		xv := int32(v)
		s0 += int32(w0[i]) * xv
		s1 += int32(w1[i]) * xv
		s2 += int32(w2[i]) * xv
		s3 += int32(w3[i]) * xv
	}
	return s0, s1, s2, s3
}
