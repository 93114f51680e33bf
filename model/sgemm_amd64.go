//go:build !purego

package model

import "golang.org/x/sys/cpu"

// useSgemmAsm selects the AVX2/FMA GEMM kernels (and with them sgemm for
// the default build's gemm); it is set once, from the CPU's features, and
// never changes.
var useSgemmAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// sgemm6x16 is sgemm6x16Go in AVX2: twelve accumulators (6 rows × 16
// columns), two loads of B's row and six broadcasts of A's column per
// twelve FMAs, k unrolled by four.
//
//go:noescape
func sgemm6x16(a, b *float32, k, bstride, nblk, bnext int, c *float32, ldc, add int)

// sgemmDot3x4 is sgemmDot3x4Go in AVX2: twelve accumulators of 8 lanes
// along k (3 rows of A × 4 rows of B), the last k%8 through masked loads,
// summed across lanes at the end.
//
//go:noescape
func sgemmDot3x4(a0, a1, a2, b *float32, ldb, k, nblk int, c *float32, ldc, add int)

// sgemmPackT16 transposes 16 rows of src into a panel of 16 columns:
// dst[16p + j] = src[j·ld + p] for j < 16, p < 8·n8.
//
//go:noescape
func sgemmPackT16(dst, src *float32, ld, n8 int)

// sgemmPackT6 transposes 6 rows of src into columns of six:
// dst[6p + i] = src[i·ld + p] for i < 6, p < 8·n8. It writes (garbage)
// up to dst[48·n8 + 1], two floats past the last column.
//
//go:noescape
func sgemmPackT6(dst, src *float32, ld, n8 int)
