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

// poolRowAVX2 is poolRowGo (pool_amd64.s).
//
//go:noescape
func poolRowAVX2(dst *float32, r0, r1 *int32, n int, scale, bias float32, relu bool)

// poolRowSIMD computes poolRow with AVX2 and returns len(dst), or, without
// AVX2, nothing and 0.
func poolRowSIMD(dst []float32, r0, r1 []int32, scale, bias float32, relu bool) int {
	n := len(dst)
	if !haveAVX2 || n == 0 {
		return 0
	}
	dst, r0, r1 = dst[:n], r0[:2*n], r1[:2*n]
	poolRowAVX2(&dst[0], &r0[0], &r1[0], n, scale, bias, relu)
	return n
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
