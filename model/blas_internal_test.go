package model

import (
	"fmt"
	"math"
	"runtime"
	"testing"
)

// TestGemmAgainstLoops checks gemm (tiled on the pure-Go build at
// GOMAXPROCS=1, whole otherwise) against the triple loop, for every
// transpose combination, shapes around the tile sizes, padded leading
// dimensions and beta 0 and 1.
func TestGemmAgainstLoops(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	r := uint64(1)
	next := func() float32 {
		r = r*6364136223846793005 + 1442695040888963407
		return float32(int64(r>>40)%2001-1000) / 1000
	}
	for _, sh := range [][3]int{{1, 1, 1}, {3, 5, 7}, {64, 192, 9}, {65, 193, 17}, {130, 400, 33}, {200, 70, 64}} {
		m, n, k := sh[0], sh[1], sh[2]
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, beta := range []float32{0, 1} {
					t.Run(fmt.Sprintf("%dx%dx%d/ta=%v/tb=%v/beta=%v", m, n, k, ta, tb, beta), func(t *testing.T) {
						ar, ac := m, k
						if ta {
							ar, ac = k, m
						}
						br, bc := k, n
						if tb {
							br, bc = n, k
						}
						lda, ldb, ldc := ac+3, bc+1, n+2
						a := make([]float32, (ar-1)*lda+ac)
						b := make([]float32, (br-1)*ldb+bc)
						c := make([]float32, (m-1)*ldc+n)
						for i := range a {
							a[i] = next()
						}
						for i := range b {
							b[i] = next()
						}
						for i := range c {
							c[i] = next()
						}
						want := make([]float64, len(c))
						for i := range m {
							for j := range n {
								var s float64
								for p := range k {
									var av, bv float32
									if ta {
										av = a[p*lda+i]
									} else {
										av = a[i*lda+p]
									}
									if tb {
										bv = b[j*ldb+p]
									} else {
										bv = b[p*ldb+j]
									}
									s += float64(av) * float64(bv)
								}
								want[i*ldc+j] = s + float64(beta)*float64(c[i*ldc+j])
							}
						}
						gemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc)
						for i := range m {
							for j := range n {
								if d := math.Abs(float64(c[i*ldc+j]) - want[i*ldc+j]); d > 1e-4*math.Max(1, math.Abs(want[i*ldc+j])) {
									t.Fatalf("C[%d,%d] = %v, want %v", i, j, c[i*ldc+j], want[i*ldc+j])
								}
							}
						}
					})
				}
			}
		}
	}
}
