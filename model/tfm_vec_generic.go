//go:build !amd64 || purego

package model

// useTfmAsm: no assembly kernels on this architecture or build.
const useTfmAsm = false

func geluAVX2(*float32, int) { panic("model: no geluAVX2 on this architecture") }

func geluDerivAVX2(*float32, *float32, int) { panic("model: no geluDerivAVX2 on this architecture") }

func expSumAVX2(*float32, int, float32, float32) float32 {
	panic("model: no expSumAVX2 on this architecture")
}
