// The assembly routines of the int8 pass and their CPU feature checks.

package quant

import "golang.org/x/sys/cpu"

// haveAVX2 selects the SIMD int8 pass (gemm with an assembly kernel);
// without AVX2 the int8 pass runs the packed-pairs Go loop. haveVNNI
// selects the AVX-512 VNNI kernel over the AVX2 one. Both are set once at
// start-up from the CPU's features and only read.
var (
	haveAVX2 = cpu.X86.HasAVX2
	haveVNNI = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VNNI
)

// gemmTileAVX2 computes 4 rows and 16 columns of gemmTileGo's tile in AVX2
// (gemm_amd64.s).
//
//go:noescape
func gemmTileAVX2(c *int32, ldc int, a *int32, lda int, b, koff *int32, kp int)

// gemmTileVNNI is gemmTileGo in AVX-512 VNNI (gemm_vnni_amd64.s).
//
//go:noescape
func gemmTileVNNI(c *int32, ldc int, a *int32, lda int, b, koff *int32, kp int)

// tileAVX2 and tileVNNI are the assembly kernels as tileKernels. They do
// not check that the tile's reads and writes fit the slices: gemm, their
// only caller, has (and calls no kernel for empty sums, kp = 0).
func tileAVX2(c []int32, ldc int, a []int32, lda int, b, koff []int32) {
	for i := 0; i < tileM; i += 4 { // the assembly does 4 x 16
		for j := 0; j < tileN; j += 16 {
			gemmTileAVX2(&c[i*ldc+j], ldc, &a[i*lda], lda, &b[j], &koff[0], len(koff))
		}
	}
}

func tileVNNI(c []int32, ldc int, a []int32, lda int, b, koff []int32) {
	gemmTileVNNI(&c[0], ldc, &a[0], lda, &b[0], &koff[0], len(koff))
}

// simdKernel is the kernel of the SIMD int8 pass on this CPU.
func simdKernel() tileKernel {
	if haveVNNI {
		return tileVNNI
	}
	return tileAVX2
}

// asmKernels are the assembly kernels this CPU runs, by name (for tests
// and benchmarks).
func asmKernels() map[string]tileKernel {
	ks := map[string]tileKernel{}
	if haveAVX2 {
		ks["avx2"] = tileAVX2
	}
	if haveVNNI {
		ks["avx512vnni"] = tileVNNI
	}
	return ks
}

// quantizeAVX2 is quantizeGo for n a multiple of 8 (quantize_amd64.s).
//
//go:noescape
func quantizeAVX2(dst *int8, src *float32, n int, scale float32)

// quantizeSIMD quantizes the longest multiple of 8 values of x into dst
// with AVX2 (none without it) and returns how many it did.
func quantizeSIMD(dst []int8, x []float32, scale float32) int {
	n := len(x) &^ 7
	if !haveAVX2 || n == 0 {
		return 0
	}
	dst = dst[:n]
	quantizeAVX2(&dst[0], &x[0], n, scale)
	return n
}

// poolPlaneAVX2 is poolPlaneGo (pool_amd64.s).
//
//go:noescape
func poolPlaneAVX2(dst *float32, src *int32, rows, n, ld int, scale, bias float32, relu bool)

// poolPlaneSIMD computes poolPlane with AVX2 (dst and plane already
// sliced to the values it touches; rows, n >= 1) and reports whether it
// did (not without AVX2).
func poolPlaneSIMD(dst []float32, plane []int32, rows, n, ld int, scale, bias float32, relu bool) bool {
	if !haveAVX2 {
		return false
	}
	_, _ = dst[rows*n-1], plane[(2*rows-1)*ld+2*n-1]
	poolPlaneAVX2(&dst[0], &plane[0], rows, n, ld, scale, bias, relu)
	return true
}

// pairsAVX2 is pairsGo for n a multiple of 16 (pairs_amd64.s).
//
//go:noescape
func pairsAVX2(dst *int32, src *int8, n int)

// pairsSIMD writes the longest multiple of 16 pair words of pairs with
// AVX2 (none without it) and returns how many it did.
func pairsSIMD(dst []int32, src []int8) int {
	n := len(dst) &^ 15
	if !haveAVX2 || n == 0 {
		return 0
	}
	dst, src = dst[:n], src[:n+1]
	pairsAVX2(&dst[0], &src[0], n)
	return n
}
