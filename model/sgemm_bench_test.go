package model

import (
	"fmt"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// BenchmarkSgemm times sgemm and gonum's Sgemm (called on tiles of C as
// gemm did before sgemm, which keeps it serial and allocation-free) on
// the products the models run, and reports GFLOP/s:
//
//	GOMAXPROCS=1 go test -run '^$' -bench Sgemm ./model/
func BenchmarkSgemm(b *testing.B) {
	for _, sh := range []struct {
		ta, tb  bool
		m, n, k int
	}{
		{false, false, 64, 512, 784},  // MLP layer 1 forward
		{false, true, 64, 784, 512},   // its input gradient
		{true, false, 784, 512, 64},   // its weight gradient
		{false, false, 768, 384, 128}, // transformer qkv forward
		{false, true, 768, 128, 384},  // its input gradient
		{true, false, 128, 384, 768},  // its weight gradient
		{false, true, 12, 1024, 256},  // lstm recurrent forward (A·Wᵀ)
		{false, false, 12, 1024, 256}, // the same as A·W
		{false, true, 12, 256, 1024},  // lstm recurrent backward
		{false, true, 32, 32, 32},     // attention scores
	} {
		name := fmt.Sprintf("%dx%dx%d/ta=%v/tb=%v", sh.m, sh.n, sh.k, sh.ta, sh.tb)
		c := newSgemmBench(sh.ta, sh.tb, sh.m, sh.n, sh.k)
		for _, impl := range []struct {
			name string
			f    func()
		}{
			{"sgemm", func() { sgemm(c.ta, c.tb, c.m, c.n, c.k, c.a, c.lda, c.b, c.ldb, 0, c.c, c.ldc) }},
			{"gonum", func() { gonumTiled(c.ta, c.tb, c.m, c.n, c.k, c.a, c.lda, c.b, c.ldb, 0, c.c, c.ldc) }},
		} {
			if impl.name == "sgemm" && !useSgemmAsm {
				continue
			}
			b.Run(name+"/"+impl.name, func(b *testing.B) {
				impl.f()
				b.ResetTimer()
				for range b.N {
					impl.f()
				}
				b.ReportMetric(2*float64(sh.m*sh.n*sh.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// newSgemmBench is a product's operands, unpadded, random.
func newSgemmBench(ta, tb bool, m, n, k int) *sgemmCase {
	t := &sgemmCase{ta: ta, tb: tb, m: m, n: n, k: k, lda: k, ldb: n, ldc: n}
	if ta {
		t.lda = m
	}
	if tb {
		t.ldb = k
	}
	r := uint64(3)
	rand := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			r = r*6364136223846793005 + 1442695040888963407
			s[i] = float32(int64(r>>40)%2001-1000) / 1000
		}
		return s
	}
	t.a, t.b, t.c = rand(m*k), rand(k*n), rand(m*n)
	return t
}

// gonumTiled is gemm as it was before sgemm: gonum's Sgemm on tiles of C
// of at most tileM×tileN (its serial path).
func gonumTiled(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	if transA {
		ta = blas.Trans
	}
	if transB {
		tb = blas.Trans
	}
	impl := gonum.Implementation{}
	for i0 := 0; i0 < m; i0 += tileM {
		mt := min(tileM, m-i0)
		ai := a[i0:] // columns i0.. of the stored Aᵀ
		if !transA {
			ai = a[i0*lda:] // rows i0.. of A
		}
		for j0 := 0; j0 < n; j0 += tileN {
			nt := min(tileN, n-j0)
			bj := b[j0:] // columns j0.. of B
			if transB {
				bj = b[j0*ldb:] // rows j0.. of the stored Bᵀ
			}
			impl.Sgemm(ta, tb, mt, nt, k, 1, ai, lda, bj, ldb, beta, c[i0*ldc+j0:], ldc)
		}
	}
}
