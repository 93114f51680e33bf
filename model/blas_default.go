//go:build !openblas

package model

// BLAS names the BLAS implementation gorgonia uses in this build: "gonum"
// (pure Go, the default) or "openblas" (cgo, build tag openblas).
const BLAS = "gonum"
