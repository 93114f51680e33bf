//go:build !amd64 || purego

package model

// useTfmAsm: no assembly kernels on this architecture or build.
const useTfmAsm = false

func geluAVX2(*float32, int) { panic("model: no geluAVX2 on this architecture") }

func geluDerivAVX2(*float32, *float32, int) { panic("model: no geluDerivAVX2 on this architecture") }

func expSumAVX2(*float32, int, float32, float32) float32 {
	panic("model: no expSumAVX2 on this architecture")
}

func lnStatsAVX2(*float32, int, float32) (float32, float32) {
	panic("model: no lnStatsAVX2 on this architecture")
}

func lnNormAVX2(*float32, *float32, *float32, *float32, int, float32, float32) {
	panic("model: no lnNormAVX2 on this architecture")
}

func lnGradSumsAVX2(*float32, *float32, *float32, int, float32) (float32, float32) {
	panic("model: no lnGradSumsAVX2 on this architecture")
}

func lnDxAVX2(*float32, *float32, *float32, *float32, int, float32, float32, float32, float32) {
	panic("model: no lnDxAVX2 on this architecture")
}

func lnDwAVX2(*float32, *float32, *float32, int, float32, float32) {
	panic("model: no lnDwAVX2 on this architecture")
}
