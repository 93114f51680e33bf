package model

import (
	"fmt"
	"sync"
)

// sgemm is gemm's arithmetic for the default build on AVX2/FMA machines:
// C = op(A)·op(B) + beta·C on row-major float32 matrices (op(A) is m×k,
// op(B) k×n), single-threaded, in the GotoBLAS manner:
//
//   - C is done in blocks of sgemmNC columns, k in blocks of sgemmKC. For
//     each pair, op(B)'s block is packed into panels of 16 columns, each
//     k-contiguous (sgemmPackB; an untransposed B is instead read in place
//     where that is faster, see sgemmChoose), and stays in L2; op(A) is
//     packed six rows at a time (a 6×kc panel, L1) and multiplied into C
//     by the 6×16 kernel over all the B panels.
//   - Rows past m are packed as zeros and columns past n as zero columns;
//     the kernel then writes such edge tiles into scratch, and only their
//     real part is merged into C.
//   - The first block of k overwrites C when beta is 0 (C is not read, as
//     in BLAS); later blocks, and beta 1, add. Any other beta scales C first.
//   - A·Bᵀ with few rows of A (sgemmDotRows) skips packing: both operands
//     are k-contiguous rows, multiplied by the dot kernel (3 rows × 4).
//
// sgemm panics, as gonum's Sgemm does, on sizes that do not fit the
// slices (gemm's callers size them; a mismatch is a bug, and the
// assembly must never run past a slice).
//
// The scratch (about 0.5 MiB) comes from sgemmPool: gemm is called by
// every kernel of every Model, several Models may run at once on their own
// goroutines, and gemm's signature has no room for a caller's buffer. A
// sync.Pool hands each concurrent call its own, allocation-free in the
// steady state (the pool keeps them across a GC through its victim cache).
func sgemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemmRun(sgemmChoose(transA, transB, m, n, k, ldb), transA, transB, m, n, k, a, lda, b, ldb, beta, c, ldc)
}

// sgemmPath is how sgemm runs a product.
type sgemmPath int

const (
	sgemmPackedPath sgemmPath = iota // A and B packed
	sgemmDirectPath                  // A packed, B (untransposed) read in place
	sgemmDotPath                     // A·Bᵀ by the dot kernel, nothing packed
)

// Thresholds of sgemmChoose (measured on the products of the models):
//   - sgemmDotRows, sgemmDotK: A·Bᵀ with at most sgemmDotRows rows and at
//     least sgemmDotK columns of A runs the dot kernel (no packing, whose
//     cost a few rows do not repay; with fewer columns the sums across
//     lanes dominate);
//   - sgemmDirectRows: an untransposed B is read in place, unpacked, when m is
//     at most this, or when it has a single block of columns with rows
//     about as long as its leading dimension (a wider stride leaves parts
//     of the L2 sets empty: packing is then faster).
const (
	sgemmDotRows    = 24
	sgemmDotK       = 32
	sgemmDirectRows = 24
)

// sgemmChoose picks the path for a product's shape.
func sgemmChoose(transA, transB bool, m, n, k, ldb int) sgemmPath {
	switch {
	case !transA && transB && m <= sgemmDotRows && k >= sgemmDotK:
		return sgemmDotPath
	case !transB && (m <= sgemmDirectRows || n <= sgemmNC && ldb <= n+n/4+16):
		return sgemmDirectPath
	}
	return sgemmPackedPath
}

// sgemmRun is sgemm by a given path (the dot path needs !transA and
// transB, the direct path !transB).
func sgemmRun(path sgemmPath, transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if err := sgemmCheck(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc); err != nil {
		panic(err)
	}
	if path == sgemmDotPath && (transA || !transB) || path == sgemmDirectPath && transB {
		panic(fmt.Sprintf("model: sgemm path %d with transA %v, transB %v", path, transA, transB))
	}
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || beta != 0 && beta != 1 {
		sgemmScale(m, n, beta, c, ldc)
		if k == 0 {
			return
		}
		beta = 1
	}
	s := sgemmPool.Get().(*sgemmScratch)
	if path == sgemmDotPath {
		sgemmDot(s, m, n, k, a, lda, b, ldb, beta == 1, c, ldc)
	} else {
		sgemmPacked(s, transA, transB, path == sgemmDirectPath, m, n, k, a, lda, b, ldb, beta == 1, c, ldc)
	}
	sgemmPool.Put(s)
}

// Blocking of sgemm: k in blocks of sgemmKC (a packed 6-row panel of A,
// 6 KiB, stays in L1 across a row of B panels), columns of C in blocks
// of sgemmNC (the packed block of B, 512 KiB, stays in L2).
const (
	sgemmKC = 256
	sgemmNC = 512
)

// sgemmScratch is one call's packing buffers.
type sgemmScratch struct {
	a    [6*sgemmKC + 2]float32     // a 6-row panel of op(A), by columns (+2: packT)
	b    [sgemmKC * sgemmNC]float32 // op(B)'s block, in 16-column panels
	tile [6 * sgemmNC]float32       // edge rows of C
	zero [sgemmKC]float32           // the rows of A past m (never written)
}

var sgemmPool = sync.Pool{New: func() any { return new(sgemmScratch) }}

// sgemmCheck reports what is wrong with a GEMM's sizes, in BLAS's terms.
func sgemmCheck(transA, transB bool, m, n, k, la, lda, lb, ldb, lc, ldc int) error {
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	switch {
	case m < 0 || n < 0 || k < 0:
		return fmt.Errorf("model: sgemm of %d×%d×%d: negative size", m, n, k)
	case lda < max(1, ac) || ldb < max(1, bc) || ldc < max(1, n):
		return fmt.Errorf("model: sgemm of %d×%d×%d: leading dimensions %d, %d, %d below the rows (%d, %d, %d)", m, n, k, lda, ldb, ldc, ac, bc, n)
	case m == 0 || n == 0:
		return nil
	case k > 0 && la < (ar-1)*lda+ac:
		return fmt.Errorf("model: sgemm of %d×%d×%d: A has %d elements, want %d", m, n, k, la, (ar-1)*lda+ac)
	case k > 0 && lb < (br-1)*ldb+bc:
		return fmt.Errorf("model: sgemm of %d×%d×%d: B has %d elements, want %d", m, n, k, lb, (br-1)*ldb+bc)
	case lc < (m-1)*ldc+n:
		return fmt.Errorf("model: sgemm of %d×%d×%d: C has %d elements, want %d", m, n, k, lc, (m-1)*ldc+n)
	}
	return nil
}

// sgemmScale sets C = beta·C (beta 0: zeros, whatever C held).
func sgemmScale(m, n int, beta float32, c []float32, ldc int) {
	for i := range m {
		row := c[i*ldc:][:n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// sgemmPacked runs the blocked product (see sgemm); add: C += op(A)·op(B);
// direct (only with !transB): B's full panels are read in place.
func sgemmPacked(s *sgemmScratch, transA, transB, direct bool, m, n, k int, a []float32, lda int, b []float32, ldb int, add bool, c []float32, ldc int) {
	for jc := 0; jc < n; jc += sgemmNC {
		nc := min(sgemmNC, n-jc)
		nfull, nr := nc/16, nc%16
		nblk := nfull
		if nr > 0 {
			nblk++
		}
		for pc := 0; pc < k; pc += sgemmKC {
			kc := min(sgemmKC, k-pc)
			addp := add || pc > 0
			// bp, bstride, bnext: the full panels; edge: the last, partial one.
			var bp, edge []float32
			bstride, bnext := 16, 16*kc
			if direct {
				bp, bstride, bnext = b[pc*ldb+jc:], ldb, 16
				if nr > 0 {
					edge = s.b[:16*kc]
					sgemmPackB(edge, false, b, ldb, pc, kc, jc+16*nfull, nr)
				}
			} else {
				bp = s.b[:nblk*16*kc]
				sgemmPackB(bp, transB, b, ldb, pc, kc, jc, nc)
				edge = bp[nfull*16*kc:]
			}
			for i0 := 0; i0 < m; i0 += 6 {
				mr := min(6, m-i0)
				sgemmPackA(s, transA, a, lda, i0, mr, pc, kc)
				ci := c[i0*ldc+jc:]
				if mr == 6 {
					if nfull > 0 {
						gemm6x16(s.a[:], bp, kc, bstride, nfull, bnext, ci, ldc, addp)
					}
					if nr > 0 {
						gemm6x16(s.a[:], edge, kc, 16, 1, 0, s.tile[:], 16, false)
						sgemmMerge(s.tile[:], 16, 6, nr, ci[16*nfull:], ldc, addp)
					}
					continue
				}
				// Fewer than six rows left: all of the panel goes through tile.
				lt := 16 * nblk
				if nfull > 0 {
					gemm6x16(s.a[:], bp, kc, bstride, nfull, bnext, s.tile[:], lt, false)
				}
				if nr > 0 {
					gemm6x16(s.a[:], edge, kc, 16, 1, 0, s.tile[16*nfull:], lt, false)
				}
				sgemmMerge(s.tile[:], lt, mr, nc, ci, ldc, addp)
			}
		}
	}
}

// sgemmMerge adds (or with !add copies) the r×w top left of the tile t
// (leading dimension lt) into C.
func sgemmMerge(t []float32, lt, r, w int, c []float32, ldc int, add bool) {
	for i := range r {
		src := t[i*lt:][:w]
		dst := c[i*ldc:][:w]
		if !add {
			copy(dst, src)
			continue
		}
		for j, v := range src {
			dst[j] += v
		}
	}
}

// sgemmDot runs A·Bᵀ (A m×k, B n×k, both row-major) with the dot kernel:
// three rows of A against blocks of columns small enough (sgemmDotCols)
// that their rows of B stay in L2 while every row of A passes.
func sgemmDot(s *sgemmScratch, m, n, k int, a []float32, lda int, b []float32, ldb int, add bool, c []float32, ldc int) {
	cols := sgemmDotCols(k)
	for j0 := 0; j0 < n; j0 += cols {
		nc := min(cols, n-j0)
		nblk := nc / 4
		for i0 := 0; i0 < m; i0 += 3 {
			mr := min(3, m-i0)
			r0 := a[i0*lda:]
			r1, r2 := r0, r0
			if mr > 1 {
				r1 = a[(i0+1)*lda:]
				r2 = r1
			}
			if mr > 2 {
				r2 = a[(i0+2)*lda:]
			}
			ci := c[i0*ldc+j0:]
			if nblk > 0 {
				if mr == 3 {
					dot3x4(r0, r1, r2, b[j0*ldb:], ldb, k, nblk, ci, ldc, add)
				} else {
					dot3x4(r0, r1, r2, b[j0*ldb:], ldb, k, nblk, s.tile[:], 4*nblk, false)
					sgemmMerge(s.tile[:], 4*nblk, mr, 4*nblk, ci, ldc, add)
				}
			}
			// The last nc%4 columns one at a time: ldb 0 repeats B's row.
			for j := 4 * nblk; j < nc; j++ {
				dot3x4(r0, r1, r2, b[(j0+j)*ldb:], 0, k, 1, s.tile[:], 4, false)
				sgemmMerge(s.tile[:], 4, mr, 1, ci[j:], ldc, add)
			}
		}
	}
}

// sgemmDotCols is the width of sgemmDot's column blocks for a given k: a
// multiple of 4, at most sgemmNC, whose rows of B fill about 128 KiB.
func sgemmDotCols(k int) int {
	return min(sgemmNC, max(4, (128<<10)/(4*k)&^3))
}
