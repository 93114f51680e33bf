//go:build !amd64 || purego

package model

// useSgemmAsm: no assembly GEMM kernels on this architecture or build
// (gemm stays on gonum's).
const useSgemmAsm = false

func sgemm6x16(*float32, *float32, int, int, int, int, *float32, int, int) {
	panic("model: no sgemm6x16 on this architecture")
}

func sgemmDot3x4(*float32, *float32, *float32, *float32, int, int, int, *float32, int, int) {
	panic("model: no sgemmDot3x4 on this architecture")
}

func sgemmPackT16(*float32, *float32, int, int) { panic("model: no sgemmPackT16 on this architecture") }

func sgemmPackT6(*float32, *float32, int, int) { panic("model: no sgemmPackT6 on this architecture") }
