//go:build !openblas

package model

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// BLAS names the BLAS implementation gorgonia uses in this build: "gonum"
// (pure Go, the default) or "openblas" (cgo, build tag openblas).
const BLAS = "gonum"

// blasTiles: call GEMM on tiles that stay on gonum's serial path (see gemm).
const blasTiles = true

// blasImpl is the BLAS the fused kernels call: gonum's pure Go.
func blasImpl() blas.Float32Level3 { return gonum.Implementation{} }
