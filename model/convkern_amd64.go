//go:build !purego

package model

import "golang.org/x/sys/cpu"

// useConvAsm selects the AVX2/FMA convolution kernels; it is set once,
// from the CPU's features, and never changes.
var useConvAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// shiftGemm6x16 is shiftGemmGo in AVX2: twelve accumulators (6 rows × 16
// columns), one broadcast weight and two loads of the tap's source per
// twelve FMAs.
//
//go:noescape
func shiftGemm6x16(a, src *float32, off *int, k, nblk int, dst *float32, ldc int)

// dot3x3AVX2 is dot3x3Go in AVX2: nine accumulators of 8 lanes, summed
// across lanes at the end.
//
//go:noescape
func dot3x3AVX2(a *float32, aoff *[3]int, b *float32, boff *[3]int, rows, n, astride, bstride int, out *[9]float32)

// poolFwdAVX2 is poolFwdGo in AVX2, eight samples at a time.
//
//go:noescape
func poolFwdAVX2(a0, a1 *float32, pw, np int, bias float32, out *float32)

// poolBwdAVX2 is poolBwdGo in AVX2: compares and masks, no branches.
//
//go:noescape
func poolBwdAVX2(a0, a1 *float32, pw, np int, out, grad, d0, d1 *float32)
