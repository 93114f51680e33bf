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
