//go:build !amd64

package quant

// haveAVX2 is false off amd64: the int8 pass runs the packed-pairs Go loop.
const haveAVX2 = false

// simdKernel off amd64 is the portable kernel (the SIMD pass runs only
// where a runner asks for it).
func simdKernel() tileKernel { return gemmTileGo }

// asmKernels: none off amd64.
func asmKernels() map[string]tileKernel { return nil }

// quantizeSIMD: none off amd64 (quantizeInto runs quantizeGo).
func quantizeSIMD(dst []int8, x []float32, scale float32) int { return 0 }

// poolPlaneSIMD: none off amd64 (poolPlane runs poolPlaneGo).
func poolPlaneSIMD(dst []float32, plane []int32, rows, n, ld int, scale, bias float32, relu bool) bool {
	return false
}

// pairsSIMD: none off amd64 (pairs runs pairsGo).
func pairsSIMD(dst []int32, src []int8) int { return 0 }
