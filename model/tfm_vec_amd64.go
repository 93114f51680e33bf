//go:build !purego

package model

import "golang.org/x/sys/cpu"

// useTfmAsm selects the AVX2/FMA elementwise kernels of the transformer;
// it is set once, from the CPU's features, and never changes.
var useTfmAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// geluAVX2 is x[i] = GELU(x[i]) for i < n (a positive multiple of 8).
//
//go:noescape
func geluAVX2(x *float32, n int)

// geluDerivAVX2 is geluAVX2 that also sets d[i] = GELU'(x[i]).
//
//go:noescape
func geluDerivAVX2(x, d *float32, n int)

// expSumAVX2 is x[i] = e^((x[i]-m)·scale) for i < n (a positive multiple
// of 8), returning their sum.
//
//go:noescape
func expSumAVX2(x *float32, n int, m, scale float32) float32

// lnStatsAVX2 is the mean of x[:n] and its biased variance (inv = 1/n; n
// a positive multiple of 8).
//
//go:noescape
func lnStatsAVX2(x *float32, n int, inv float32) (mean, variance float32)

// lnNormAVX2 is y = (x - mean)·rstd·w (+ b unless b is nil) over n
// values (a positive multiple of 8).
//
//go:noescape
func lnNormAVX2(x, w, b, y *float32, n int, mean, rstd float32)

// lnGradSumsAVX2 is Σ gy·w and Σ gy·w·(x - mean) over n values (a positive
// multiple of 8).
//
//go:noescape
func lnGradSumsAVX2(x, w, gy *float32, n int, mean float32) (a, b float32)

// lnDxAVX2 is dx = c1·gy·w - c2 - c3·(x - mean) over n values (a positive
// multiple of 8).
//
//go:noescape
func lnDxAVX2(x, w, gy, dx *float32, n int, mean, c1, c2, c3 float32)

// lnDwAVX2 is dw += gy·(x - mean)·rstd over n values (a positive multiple
// of 8).
//
//go:noescape
func lnDwAVX2(x, gy, dw *float32, n int, mean, rstd float32)
