package quant

import "golang.org/x/sys/cpu"

// haveAVX2 selects the SIMD int8 pass (gemm with the assembly kernel);
// without AVX2 the int8 pass runs the packed-pairs Go loop. Set once at
// start-up from the CPU's features, read only.
var haveAVX2 = cpu.X86.HasAVX2

// gemmTileAVX2 is gemmTileGo in AVX2 (gemm_amd64.s).
//
//go:noescape
func gemmTileAVX2(c *int32, ldc int, a *int32, lda int, b, koff *int32, kp int)

// tileAVX2 is the assembly kernel as a tileKernel. It does not check that
// the tile's reads fit the slices: gemm, its only caller, has (and
// calls no kernel for empty sums).
func tileAVX2(c []int32, ldc int, a []int32, lda int, b, koff []int32) {
	gemmTileAVX2(&c[0], ldc, &a[0], lda, &b[0], &koff[0], len(koff))
}

// simdKernel is the kernel of the SIMD int8 pass.
func simdKernel() tileKernel { return tileAVX2 }
