//go:build !purego

package model

import "golang.org/x/sys/cpu"

// useRNNAsm selects the AVX2/FMA activations (rnn_act_amd64.s); it is
// set once, from the CPU's features, and never changes.
var useRNNAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// sigmoidAddAVX2 is dst[j] = sigmoid(a[j] + b[j]) for j < n (a positive
// multiple of 8).
//
//go:noescape
func sigmoidAddAVX2(dst, a, b *float32, n int)

// tanhAddAVX2 is dst[j] = tanh(a[j] + b[j]) for j < n (a positive
// multiple of 8).
//
//go:noescape
func tanhAddAVX2(dst, a, b *float32, n int)
