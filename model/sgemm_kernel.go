package model

import "fmt"

// The two micro-kernels of sgemm, over strided views of float32 buffers:
//
//	gemm6x16: c[i·ldc + 16q + j] (+)= Σ_p a[6p + i] · b[q·bnext + p·bstride + j]
//	          for i < 6, j < 16, q < nblk, p < k      (A packed by columns of 6)
//	dot3x4:   c[i·ldc + 4q + j] (+)= Σ_p a_i[p] · b[(4q + j)·ldb + p]
//	          for i < 3, j < 4, q < nblk, p < k       (rows of A times rows of B)
//
// "(+)=" is = or, with add, +=. On amd64 with AVX2 and FMA they run as
// assembly (sgemm_amd64.s); elsewhere, and in the purego build, as the
// loops below, which are also the reference the assembly is tested
// against (TestSgemmKernelsMatchGo). Each call is bounded (one row panel
// of at most sgemmKC·sgemmNC, or one slab of sgemmDot's), so that
// goroutine preemption is never held off for long.

// gemm6x16 runs the packed kernel; the reads and writes are checked
// against the slices once per call.
func gemm6x16(a, b []float32, k, bstride, nblk, bnext int, c []float32, ldc int, add bool) {
	if k <= 0 || nblk <= 0 || bstride < 0 || bnext < 0 || ldc < 16*nblk || len(a) < 6*k ||
		(nblk-1)*bnext+(k-1)*bstride+16 > len(b) || 5*ldc+16*nblk > len(c) {
		panic(fmt.Sprintf("model: gemm6x16 out of range: k %d, %d blocks (b %d, stride %d, next %d), a %d, c %d (ld %d)",
			k, nblk, len(b), bstride, bnext, len(a), len(c), ldc))
	}
	if useSgemmAsm {
		sgemm6x16(&a[0], &b[0], k, bstride, nblk, bnext, &c[0], ldc, b2i(add))
		return
	}
	gemm6x16Go(a, b, k, bstride, nblk, bnext, c, ldc, add)
}

// dot3x4 runs the dot kernel on the rows a0, a1 and a2 (k elements each).
func dot3x4(a0, a1, a2, b []float32, ldb, k, nblk int, c []float32, ldc int, add bool) {
	if k <= 0 || nblk <= 0 || ldb < 0 || ldc < 0 || len(a0) < k || len(a1) < k || len(a2) < k ||
		(4*nblk-1)*ldb+k > len(b) || 2*ldc+4*nblk > len(c) {
		panic(fmt.Sprintf("model: dot3x4 out of range: k %d, %d blocks, a %d %d %d, b %d (ld %d), c %d (ld %d)",
			k, nblk, len(a0), len(a1), len(a2), len(b), ldb, len(c), ldc))
	}
	if useSgemmAsm {
		sgemmDot3x4(&a0[0], &a1[0], &a2[0], &b[0], ldb, k, nblk, &c[0], ldc, b2i(add))
		return
	}
	dot3x4Go(a0, a1, a2, b, ldb, k, nblk, c, ldc, add)
}

func b2i(v bool) int {
	if v {
		return 1
	}
	return 0
}

func gemm6x16Go(a, b []float32, k, bstride, nblk, bnext int, c []float32, ldc int, add bool) {
	var acc [6][16]float32
	for q := range nblk {
		acc = [6][16]float32{}
		for p := range k {
			brow := b[q*bnext+p*bstride:][:16]
			for i := range 6 {
				w := a[6*p+i]
				for j, v := range brow {
					acc[i][j] += w * v
				}
			}
		}
		for i := range 6 {
			crow := c[i*ldc+16*q:][:16]
			for j := range crow {
				if add {
					crow[j] += acc[i][j]
				} else {
					crow[j] = acc[i][j]
				}
			}
		}
	}
}

func dot3x4Go(a0, a1, a2, b []float32, ldb, k, nblk int, c []float32, ldc int, add bool) {
	rows := [3][]float32{a0[:k], a1[:k], a2[:k]}
	for q := range nblk {
		for i, ar := range rows {
			for j := range 4 {
				br := b[(4*q+j)*ldb:][:k]
				var s float32
				for p, v := range ar {
					s += v * br[p]
				}
				if add {
					c[i*ldc+4*q+j] += s
				} else {
					c[i*ldc+4*q+j] = s
				}
			}
		}
	}
}
