package model

import "fmt"

// The convolution kernels. The LeNet block keeps its tensors channel-major
// with the batch innermost ("CHWN": (channel, row, column, sample), the
// sample count rounded up to convLanes with zero samples), so that a fixed
// tap of the filter reads a contiguous run of the input for a whole row of
// outputs and every sample at once. Both kernels are then small dense
// products over offset views of one buffer (an "indirect" GEMM: no column
// matrix is ever written):
//
//	shiftGemm: dst[i·ldc + j] = Σ_t a[t·6 + i] · src[base + off[t] + j]
//	           for the 6 rows i and j < 16·nblk   (forward and input gradient)
//	dot3x3:    out[i·3 + j] = Σ_r Σ_l a[aoff[i] + r·astride + l] · b[boff[j] + r·bstride + l]
//	           for i, j < 3, r < rows, l < n      (weight gradient)
//
// On amd64 with AVX2 and FMA they run as assembly (convkern_amd64.s);
// elsewhere, and in the purego build, as the loops below, which are also
// the reference the assembly is tested against (TestConvKernelsMatchGo).

// convLanes is the multiple the sample count of a CHWN buffer is rounded
// up to: shiftGemm's block width.
const convLanes = 16

// shiftGemm runs the 6-row kernel over nblk blocks of 16 columns. lo and
// hi are the smallest and largest entry of off: the reads are checked
// against src once per call, the writes against dst.
func shiftGemm(a, src []float32, base int, off []int, lo, hi, nblk int, dst []float32, dbase, ldc int) {
	k, n := len(off), 16*nblk
	if len(a) < 6*k || base+lo < 0 || base+hi+n > len(src) || dbase < 0 || dbase+5*ldc+n > len(dst) || k == 0 || nblk <= 0 {
		panic(fmt.Sprintf("model: shiftGemm out of range: %d taps, base %d, offsets [%d, %d], %d columns, src %d, dst %d at %d (ld %d)",
			k, base, lo, hi, n, len(src), len(dst), dbase, ldc))
	}
	if useConvAsm {
		shiftGemm6x16(&a[0], &src[base], &off[0], k, nblk, &dst[dbase], ldc)
		return
	}
	shiftGemmGo(a, src, base, off, nblk, dst, dbase, ldc)
}

// dot3x3 runs the weight-gradient kernel; n is a positive multiple of 8.
func dot3x3(a []float32, aoff *[3]int, b []float32, boff *[3]int, rows, n, astride, bstride int, out *[9]float32) {
	span := func(buf []float32, off *[3]int, stride int) bool {
		for _, o := range off {
			if o < 0 || o+(rows-1)*stride+n > len(buf) {
				return false
			}
		}
		return true
	}
	if rows <= 0 || n <= 0 || n%8 != 0 || !span(a, aoff, astride) || !span(b, boff, bstride) {
		panic(fmt.Sprintf("model: dot3x3 out of range: %d rows of %d, a %d %v stride %d, b %d %v stride %d",
			rows, n, len(a), *aoff, astride, len(b), *boff, bstride))
	}
	if useConvAsm {
		dot3x3AVX2(&a[0], aoff, &b[0], boff, rows, n, astride, bstride, out)
		return
	}
	dot3x3Go(a, aoff, b, boff, rows, n, astride, bstride, out)
}

func shiftGemmGo(a, src []float32, base int, off []int, nblk int, dst []float32, dbase, ldc int) {
	n := 16 * nblk
	for i := range 6 {
		d := dst[dbase+i*ldc : dbase+i*ldc+n]
		clear(d)
		for t, o := range off {
			w := a[t*6+i]
			s := src[base+o : base+o+n]
			for j := range d {
				d[j] += w * s[j]
			}
		}
	}
}

func dot3x3Go(a []float32, aoff *[3]int, b []float32, boff *[3]int, rows, n, astride, bstride int, out *[9]float32) {
	for i := range 3 {
		for j := range 3 {
			var s float32
			for r := range rows {
				x := a[aoff[i]+r*astride : aoff[i]+r*astride+n]
				y := b[boff[j]+r*bstride : boff[j]+r*bstride+n]
				for l := range x {
					s += x[l] * y[l]
				}
			}
			out[i*3+j] = s
		}
	}
}

// poolFwd pools pw windows of one row pair of a CHWN activation: a0 and a1
// are the two rows (pw·2 columns of np lanes), out the pooled row (pw
// columns of np lanes): out = max(0, the window's max + bias).
func poolFwd(a0, a1 []float32, pw, np int, bias float32, out []float32) {
	if np <= 0 || np%8 != 0 || pw <= 0 || len(a0) < 2*pw*np || len(a1) < 2*pw*np || len(out) < pw*np {
		panic(fmt.Sprintf("model: poolFwd out of range: %d windows of %d lanes, rows %d %d, out %d", pw, np, len(a0), len(a1), len(out)))
	}
	if useConvAsm {
		poolFwdAVX2(&a0[0], &a1[0], pw, np, bias, &out[0])
		return
	}
	poolFwdGo(a0, a1, pw, np, bias, out)
}

// poolBwd routes the pooled gradient of one row of windows: where out > 0
// the window's first maximum (in the order top left, top right, bottom
// left, bottom right) gets g and the other three positions 0; elsewhere
// all four get 0. d0 and d1 are the gradient's two rows, laid out like a0
// and a1.
func poolBwd(a0, a1 []float32, pw, np int, out, g, d0, d1 []float32) {
	n := 2 * pw * np
	if np <= 0 || np%8 != 0 || pw <= 0 || len(a0) < n || len(a1) < n || len(d0) < n || len(d1) < n || len(out) < pw*np || len(g) < pw*np {
		panic(fmt.Sprintf("model: poolBwd out of range: %d windows of %d lanes", pw, np))
	}
	if useConvAsm {
		poolBwdAVX2(&a0[0], &a1[0], pw, np, &out[0], &g[0], &d0[0], &d1[0])
		return
	}
	poolBwdGo(a0, a1, pw, np, out, g, d0, d1)
}

func poolFwdGo(a0, a1 []float32, pw, np int, bias float32, out []float32) {
	for px := range pw {
		r0, r1 := a0[2*px*np:], a1[2*px*np:]
		for i := range np {
			m := max(max(r0[i], r0[np+i]), max(r1[i], r1[np+i]))
			out[px*np+i] = max(m+bias, 0)
		}
	}
}

func poolBwdGo(a0, a1 []float32, pw, np int, out, g, d0, d1 []float32) {
	for px := range pw {
		j := 2 * px * np
		for i := range np {
			a, b, c, d := a0[j+i], a0[j+np+i], a1[j+i], a1[j+np+i]
			m := max(max(a, b), max(c, d))
			v := g[px*np+i]
			if out[px*np+i] <= 0 {
				v = 0
			}
			var v0, v1, v2, v3 float32
			switch m {
			case a:
				v0 = v
			case b:
				v1 = v
			case c:
				v2 = v
			default:
				v3 = v
			}
			d0[j+i], d0[j+np+i], d1[j+i], d1[j+np+i] = v0, v1, v2, v3
		}
	}
}
