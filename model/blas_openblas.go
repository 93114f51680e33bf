//go:build openblas

package model

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/netlib/blas/netlib"
	G "gorgonia.org/gorgonia"
)

// BLAS names the BLAS implementation gorgonia uses in this build: "gonum"
// (pure Go, the default) or "openblas" (cgo, build tag openblas).
const BLAS = "openblas"

// init switches gorgonia (and tensor) to OpenBLAS through gonum's netlib
// cgo binding. This is process-wide gorgonia state, set once at start-up
// by the build tag; G.Use is mutex-guarded. Build with
// CGO_LDFLAGS=-lopenblas (netlib has no #cgo LDFLAGS of its own) and run
// with OPENBLAS_NUM_THREADS=1 per worker.
func init() { G.Use(netlib.Implementation{}) }

// blasTiles: OpenBLAS takes whole matrices (see gemm).
const blasTiles = false

// blasImpl is the BLAS the fused kernels call: OpenBLAS.
func blasImpl() blas.Float32Level3 { return netlib.Implementation{} }
