package quant

import (
	"fmt"
	"slices"
)

// The SIMD int8 pass multiplies int8 matrices widened to int16 and packed
// two to a 32-bit word ("pair words": the value at an even position k in
// the low 16 bits, k+1's in the high 16 bits), so that one VPMADDWD lane
// computes lo·lo' + hi·hi' exactly in int32 (|product| <= 128·127; the
// fan-in bound keeps every int32 partial sum exact).
//
// gemm computes C = A·B over kp = len(koff) pair indices: A holds m rows of
// pair words (row i at a[i*lda:]); B is read in panels of tileN columns,
// panel q starting at b[q*panelStride:], its pair index kk's tileN words at
// koff[kk] from the panel's start. Packed panels (a linear step's weights)
// have panelStride = kp*tileN and koff[kk] = kk*tileN; a conv2d step reads
// B straight out of its pair image (panelStride tileN, koff the taps'
// offsets: see convSIMD). C's row i is c[i*ldc:].

// Tile sizes of the kernels: tileM rows of A by tileN columns of B.
const (
	tileM = 8
	tileN = 32
)

// tileKernel computes the tileM x tileN tile of C at c (rows ldc apart)
// from tileM rows of A at a (lda apart) and the panel of B at b: gemmTileGo,
// or the assembly kernel, which only gemm may call (gemm checks the bounds).
type tileKernel func(c []int32, ldc int, a []int32, lda int, b, koff []int32)

// pair is the pair word of two int8 values widened to int16.
func pair(lo, hi int8) int32 {
	return int32(uint32(uint16(int16(lo))) | uint32(uint16(int16(hi)))<<16)
}

// roundUp is n rounded up to a multiple of m.
func roundUp(n, m int) int { return (n + m - 1) / m * m }

// gemm computes the m x np block of C (m a multiple of tileM, np of tileN)
// with kernel, panel by panel: each panel of B stays in L1 while every
// tile of rows of A passes over it. It checks that every index the kernel
// reads or writes is inside its slice (an error, never memory corruption).
func gemm(kernel tileKernel, c []int32, ldc int, a []int32, lda int, b []int32, panelStride int, koff []int32, m, np int) error {
	kp := len(koff)
	if m%tileM != 0 || np%tileN != 0 || m < 0 || np < 0 || ldc < np || lda < kp || panelStride < 0 {
		return fmt.Errorf("quant: gemm of %d x %d (ldc %d, lda %d, kp %d, panel stride %d): want multiples of %d x %d, ldc >= columns, lda >= kp", m, np, ldc, lda, kp, panelStride, tileM, tileN)
	}
	if m == 0 || np == 0 {
		return nil
	}
	if len(c) < (m-1)*ldc+np {
		return fmt.Errorf("quant: gemm: C holds %d values, want %d", len(c), (m-1)*ldc+np)
	}
	if kp == 0 { // empty sums
		for i := range m {
			clear(c[i*ldc : i*ldc+np])
		}
		return nil
	}
	lo, hi := int(slices.Min(koff)), int(slices.Max(koff))
	if lo < 0 || len(a) < (m-1)*lda+kp || len(b) < (np/tileN-1)*panelStride+hi+tileN {
		return fmt.Errorf("quant: gemm: A holds %d values (want %d), B %d (want %d), offsets from %d", len(a), (m-1)*lda+kp, len(b), (np/tileN-1)*panelStride+hi+tileN, lo)
	}
	for j0 := 0; j0 < np; j0 += tileN {
		panel := b[j0/tileN*panelStride:]
		for i0 := 0; i0 < m; i0 += tileM {
			kernel(c[i0*ldc+j0:], ldc, a[i0*lda:], lda, panel, koff)
		}
	}
	return nil
}

// gemmTileGo is the portable kernel (and the reference the assembly one is
// checked against): plain Go, its own bounds checked.
func gemmTileGo(c []int32, ldc int, a []int32, lda int, b, koff []int32) {
	kp := len(koff)
	for i := range tileM {
		row := a[i*lda : i*lda+kp]
		var acc [tileN]int32
		for kk, w := range row {
			lo, hi := int32(int16(w)), w>>16
			col := b[koff[kk] : koff[kk]+tileN]
			for j := range acc {
				v := col[j]
				acc[j] += lo*int32(int16(v)) + hi*(v>>16)
			}
		}
		copy(c[i*ldc:i*ldc+tileN], acc[:])
	}
}
