//go:build !amd64 || purego

package model

// useConvAsm: no assembly kernels on this architecture or build.
const useConvAsm = false

func shiftGemm6x16(*float32, *float32, *int, int, int, *float32, int) {
	panic("model: no shiftGemm6x16 on this architecture")
}

func dot3x3AVX2(*float32, *[3]int, *float32, *[3]int, int, int, int, int, *[9]float32) {
	panic("model: no dot3x3AVX2 on this architecture")
}

func poolFwdAVX2(*float32, *float32, int, int, float32, *float32) {
	panic("model: no poolFwdAVX2 on this architecture")
}

func poolBwdAVX2(*float32, *float32, int, int, *float32, *float32, *float32, *float32) {
	panic("model: no poolBwdAVX2 on this architecture")
}
