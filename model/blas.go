package model

import (
	"runtime"

	"gonum.org/v1/gonum/blas"
)

// gemm is C = op(A)·op(B) + beta·C on row-major float32 matrices (op(A) is
// m×k, op(B) k×n), through the build's BLAS (blasImpl: the package's
// packed AVX2 sgemm in the default build on amd64, gonum's pure Go where
// that is not available, or OpenBLAS with the openblas tag).
//
// Where gonum runs: gonum's GEMM goes parallel when C has 4 or more 64×64 blocks, starting
// goroutines and channels on every call (hundreds of allocations a step).
// With one thread (GOMAXPROCS=1, how workers run) that buys nothing, so
// the pure-Go build then calls it on tiles of C small enough for its
// serial path: the same arithmetic per element, no allocation.
func gemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	if transA {
		ta = blas.Trans
	}
	if transB {
		tb = blas.Trans
	}
	impl := blasImpl()
	if !blasTiles || (m <= tileM && n <= tileN) || runtime.GOMAXPROCS(0) > 1 {
		impl.Sgemm(ta, tb, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
		return
	}
	for i0 := 0; i0 < m; i0 += tileM {
		mt := min(tileM, m-i0)
		ai := a[i0:] // columns i0.. of the stored Aᵀ
		if !transA {
			ai = a[i0*lda:] // rows i0.. of A
		}
		for j0 := 0; j0 < n; j0 += tileN {
			nt := min(tileN, n-j0)
			bj := b[j0:] // columns j0.. of B
			if transB {
				bj = b[j0*ldb:] // rows j0.. of the stored Bᵀ
			}
			impl.Sgemm(ta, tb, mt, nt, k, 1, ai, lda, bj, ldb, beta, c[i0*ldc+j0:], ldc)
		}
	}
}

// Tiles of C for gonum's serial GEMM path (fewer than 4 blocks of 64×64).
const tileM, tileN = 64, 192
