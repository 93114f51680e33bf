package model

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// sgemmCase is one product of the GEMM tests, with its operands stored
// in padded buffers: the padding of A and B is NaN (a read of it shows in
// C), that of C a sentinel (a write to it is caught).
type sgemmCase struct {
	ta, tb      bool
	m, n, k     int
	beta        float32
	a, b, c     []float32
	lda, ldb    int
	ldc         int
	want, bound []float64 // the float64 product and Σ|a||b| + |beta·c|
}

const sgemmSentinel = 12345

func newSgemmCase(ta, tb bool, m, n, k int, beta float32, seed uint64) *sgemmCase {
	r := seed*0x9e3779b97f4a7c15 + 1
	next := func() float32 {
		r = r*6364136223846793005 + 1442695040888963407
		return float32(int64(r>>40)%2001-1000) / 1000
	}
	ar, ac := m, k
	if ta {
		ar, ac = k, m
	}
	br, bc := k, n
	if tb {
		br, bc = n, k
	}
	t := &sgemmCase{ta: ta, tb: tb, m: m, n: n, k: k, beta: beta, lda: ac + 3, ldb: bc + 1, ldc: n + 2}
	fill := func(rows, cols, ld int, pad float32) []float32 {
		buf := make([]float32, rows*ld)
		for i := range rows {
			for j := range ld {
				if j < cols {
					buf[i*ld+j] = next()
				} else {
					buf[i*ld+j] = pad
				}
			}
		}
		return buf
	}
	nan := float32(math.NaN())
	t.a = fill(ar, ac, t.lda, nan)
	t.b = fill(br, bc, t.ldb, nan)
	t.c = fill(m, n, t.ldc, sgemmSentinel)
	if beta == 0 {
		for i := range m { // beta 0: C is not read, NaN or not
			t.c[i*t.ldc] = nan
		}
	}
	t.want = make([]float64, m*n)
	t.bound = make([]float64, m*n)
	for i := range m {
		for j := range n {
			var s, sa float64
			for p := range k {
				ai, bi := i*t.lda+p, p*t.ldb+j
				if ta {
					ai = p*t.lda + i
				}
				if tb {
					bi = j*t.ldb + p
				}
				av, bv := t.a[ai], t.b[bi]
				s += float64(av) * float64(bv)
				sa += math.Abs(float64(av) * float64(bv))
			}
			if beta != 0 {
				cv := float64(beta) * float64(t.c[i*t.ldc+j])
				s += cv
				sa += math.Abs(cv)
			}
			t.want[i*n+j], t.bound[i*n+j] = s, sa
		}
	}
	return t
}

// check compares C with the float64 product, to a tolerance relative to
// Σ|a||b| (float32 rounding of k products), and the padding of C with
// the sentinel.
func (t *sgemmCase) check(tb *testing.T) {
	tb.Helper()
	for i := range t.m {
		for j := range t.ldc {
			got := t.c[i*t.ldc+j]
			if j >= t.n {
				if got != sgemmSentinel {
					tb.Fatalf("padding C[%d,%d] = %v, written", i, j, got)
				}
				continue
			}
			want, bound := t.want[i*t.n+j], t.bound[i*t.n+j]
			if d := math.Abs(float64(got) - want); !(d <= 1e-6*(1+float64(t.k))*bound+1e-30) {
				tb.Fatalf("C[%d,%d] = %v, want %v (error %g, Σ|a||b| %g)", i, j, got, want, d, bound)
			}
		}
	}
}

func (t *sgemmCase) String() string {
	return fmt.Sprintf("%dx%dx%d/ta=%v/tb=%v/beta=%v", t.m, t.n, t.k, t.ta, t.tb, t.beta)
}

// sgemmShapes: every edge of the blocking (6 rows, 16 columns, the dot
// kernel's 3×4, sgemmKC, sgemmNC, the direct and dot thresholds): all
// triples of the small sizes, and each large size with small others.
func sgemmShapes() [][3]int {
	small := []int{1, 5, 6, 7, 15, 16, 17, 33}
	var out [][3]int
	for _, m := range small {
		for _, n := range small {
			for _, k := range small {
				out = append(out, [3]int{m, n, k})
			}
		}
	}
	for _, big := range []int{100, 257, 513} {
		for _, s := range []int{1, 7, 17} {
			out = append(out, [3]int{big, s, 17}, [3]int{s, big, 17}, [3]int{s, 17, big})
		}
	}
	return append(out, [3]int{24, 100, 257}, [3]int{25, 33, 513}, [3]int{100, 257, 33}, [3]int{33, 513, 100}, [3]int{100, 100, 513})
}

// TestGemmEdges runs gemm (the build's: sgemm on AVX2/FMA, else gonum),
// sgemm itself and each of its paths (on the Go kernels where there is no
// assembly) over
// sgemmShapes, all four transposes, beta 0, 1 and 0.5, padded leading
// dimensions.
func TestGemmEdges(t *testing.T) {
	shapes := sgemmShapes()
	if testing.Short() {
		shapes = shapes[:64]
	}
	impls := []struct {
		name string
		f    func(c *sgemmCase)
	}{
		{"gemm", func(c *sgemmCase) {
			gemm(c.ta, c.tb, c.m, c.n, c.k, c.a, c.lda, c.b, c.ldb, c.beta, c.c, c.ldc)
		}},
		{"sgemm", func(c *sgemmCase) {
			sgemm(c.ta, c.tb, c.m, c.n, c.k, c.a, c.lda, c.b, c.ldb, c.beta, c.c, c.ldc)
		}},
	}
	for _, path := range []sgemmPath{sgemmPackedPath, sgemmDirectPath, sgemmDotPath} {
		impls = append(impls, struct {
			name string
			f    func(c *sgemmCase)
		}{fmt.Sprint("path", path), func(c *sgemmCase) {
			sgemmRun(path, c.ta, c.tb, c.m, c.n, c.k, c.a, c.lda, c.b, c.ldb, c.beta, c.c, c.ldc)
		}})
	}
	for _, impl := range impls {
		for si, sh := range shapes {
			for ti := range 4 {
				for _, beta := range []float32{0, 1, 0.5} {
					ta, tb := ti&1 != 0, ti&2 != 0
					if impl.name == fmt.Sprint("path", sgemmDotPath) && (ta || !tb) || impl.name == fmt.Sprint("path", sgemmDirectPath) && tb {
						continue
					}
					c := newSgemmCase(ta, tb, sh[0], sh[1], sh[2], beta, uint64(si*16+ti))
					impl.f(c)
					t.Run(impl.name+"/"+c.String(), c.check)
				}
			}
		}
	}
}

// TestSgemmKZero: k = 0 leaves beta·C (C zeroed for beta 0, NaN or not).
func TestSgemmKZero(t *testing.T) {
	for _, beta := range []float32{0, 1, 0.5} {
		c := []float32{float32(math.NaN()), 2, 3, 4}
		sgemm(false, false, 2, 2, 0, nil, 1, nil, 2, beta, c, 2)
		for i, v := range c {
			want := float32(0)
			if beta != 0 {
				want = beta * []float32{float32(math.NaN()), 2, 3, 4}[i]
			}
			if v != want && !(math.IsNaN(float64(v)) && math.IsNaN(float64(want))) {
				t.Errorf("beta %v: C[%d] = %v, want %v", beta, i, v, want)
			}
		}
	}
}

// TestSgemmCheck: inconsistent sizes panic with what is wrong, before
// any kernel reads or writes.
func TestSgemmCheck(t *testing.T) {
	buf := make([]float32, 64)
	for _, tc := range []struct {
		name                 string
		ta, tb               bool
		m, n, k, la, lda, lb int
		ldb, lc, ldc         int
		want                 string
	}{
		{"negative", false, false, -1, 2, 2, 4, 2, 4, 2, 4, 2, "negative size"},
		{"lda", false, false, 2, 2, 3, 6, 2, 6, 2, 4, 2, "leading dimensions"},
		{"lda trans", true, false, 3, 2, 2, 6, 2, 4, 2, 6, 2, "leading dimensions"},
		{"ldc", false, false, 2, 3, 2, 4, 2, 6, 3, 6, 2, "leading dimensions"},
		{"short a", false, false, 2, 2, 2, 3, 2, 4, 2, 4, 2, "A has 3 elements"},
		{"short b", false, true, 2, 3, 2, 4, 2, 5, 2, 6, 3, "B has 5 elements"},
		{"short c", false, false, 2, 2, 2, 4, 2, 4, 2, 3, 2, "C has 3 elements"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := sgemmCheck(tc.ta, tc.tb, tc.m, tc.n, tc.k, tc.la, tc.lda, tc.lb, tc.ldb, tc.lc, tc.ldc)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("sgemmCheck = %v, want %q", err, tc.want)
			}
			defer func() {
				if r := recover(); r == nil {
					t.Fatal("sgemm did not panic")
				}
			}()
			sgemm(tc.ta, tc.tb, tc.m, tc.n, tc.k, buf[:tc.la], tc.lda, buf[:tc.lb], tc.ldb, 0, buf[:tc.lc], tc.ldc)
		})
	}
	if err := sgemmCheck(false, false, 0, 5, 5, 0, 5, 0, 5, 0, 5); err != nil {
		t.Errorf("an empty product: %v", err)
	}
}

// TestSgemmKernelsMatchGo checks the assembly kernels against their Go
// loops, over strides, block counts, k remainders and both write modes.
func TestSgemmKernelsMatchGo(t *testing.T) {
	if !useSgemmAsm {
		t.Skip("no assembly kernels in this build")
	}
	r := uint64(7)
	next := func() float32 {
		r = r*6364136223846793005 + 1442695040888963407
		return float32(int64(r>>40)%2001-1000) / 1000
	}
	rand := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = next()
		}
		return s
	}
	near := func(got, want []float32, k int) bool {
		for i := range got {
			if math.Abs(float64(got[i]-want[i])) > 1e-5*float64(k+1) {
				return false
			}
		}
		return true
	}
	for _, k := range []int{1, 2, 3, 4, 5, 7, 8, 9, 16, 31, 256} {
		for _, nblk := range []int{1, 2, 5} {
			for _, add := range []bool{false, true} {
				name := fmt.Sprintf("k=%d/nblk=%d/add=%v", k, nblk, add)
				// gemm6x16, packed B and B read in place (stride 16·nblk+3).
				for _, bs := range []int{16, 16*nblk + 3} {
					bnext := 16 * k
					if bs != 16 {
						bnext = 16
					}
					a, b := rand(6*k), rand((nblk-1)*bnext+(k-1)*bs+16)
					ldc := 16*nblk + 5
					c0 := rand(5*ldc + 16*nblk)
					got, want := append([]float32(nil), c0...), append([]float32(nil), c0...)
					gemm6x16(a, b, k, bs, nblk, bnext, got, ldc, add)
					gemm6x16Go(a, b, k, bs, nblk, bnext, want, ldc, add)
					if !near(got, want, k) {
						t.Errorf("gemm6x16 %s bstride %d: got %v, want %v", name, bs, got[:16], want[:16])
					}
				}
				for _, ldb := range []int{k, k + 3, 0} {
					a0, a1, a2 := rand(k), rand(k+1), rand(k)
					b := rand(max(0, 4*nblk-1)*ldb + k)
					ldc := 4*nblk + 1
					c0 := rand(2*ldc + 4*nblk)
					got, want := append([]float32(nil), c0...), append([]float32(nil), c0...)
					dot3x4(a0, a1, a2, b, ldb, k, nblk, got, ldc, add)
					dot3x4Go(a0, a1, a2, b, ldb, k, nblk, want, ldc, add)
					if !near(got, want, k) {
						t.Errorf("dot3x4 %s ldb %d: got %v, want %v", name, ldb, got[:4], want[:4])
					}
				}
			}
		}
	}
}

// TestSgemmNoAllocs: a steady-state sgemm allocates nothing.
func TestSgemmNoAllocs(t *testing.T) {
	c := newSgemmCase(false, false, 64, 100, 300, 0, 1)
	d := newSgemmCase(false, true, 12, 100, 300, 1, 2)
	run := func() {
		sgemm(c.ta, c.tb, c.m, c.n, c.k, c.a, c.lda, c.b, c.ldb, c.beta, c.c, c.ldc)
		sgemm(d.ta, d.tb, d.m, d.n, d.k, d.a, d.lda, d.b, d.ldb, d.beta, d.c, d.ldc)
	}
	run()
	if n := testing.AllocsPerRun(10, run); n > 0 {
		t.Fatalf("%v allocations per call", n)
	}
}
