//go:build !openblas

package model

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// BLAS names the BLAS implementation gorgonia uses in this build: "gonum"
// (pure Go, the default) or "openblas" (cgo, build tag openblas).
const BLAS = "gonum"

// blasTiles: call GEMM on tiles that stay on gonum's serial path (see
// gemm), unless sgemm (which takes whole matrices) runs it. Set once, from
// the CPU's features, never changed.
var blasTiles = !useSgemmAsm

// blasImpl is the BLAS the fused kernels call: gonum's pure Go, with its
// GEMM replaced by sgemm (packed, AVX2/FMA assembly) where the CPU has
// AVX2 and FMA and the build is not purego.
func blasImpl() blas.Float32Level3 {
	if useSgemmAsm {
		return sgemmBLAS{}
	}
	return gonum.Implementation{}
}

// sgemmBLAS is gonum's level 3 BLAS with Sgemm run by sgemm.
type sgemmBLAS struct{ gonum.Implementation }

// Sgemm computes C = alpha·op(A)·op(B) + beta·C: by sgemm when alpha is 1
// (as gemm always calls it), else by gonum.
func (s sgemmBLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if alpha != 1 || !validTrans(tA) || !validTrans(tB) {
		s.Implementation.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	sgemm(tA != blas.NoTrans, tB != blas.NoTrans, m, n, k, a, lda, b, ldb, beta, c, ldc)
}

func validTrans(t blas.Transpose) bool {
	return t == blas.NoTrans || t == blas.Trans || t == blas.ConjTrans
}
