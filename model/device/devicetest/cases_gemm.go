package devicetest

import (
	"fmt"
	"math"

	"github.com/ringtrain/ringtrain/model/device"
)

// gemmShapes are the (M, N, K) of the sgemm cases: the tile edges (1,
// 15, 16, 17, 31, 33, 64, 100) mixed.
func gemmShapes() [][3]int {
	return [][3]int{
		{1, 1, 1}, {1, 17, 33}, {15, 16, 17}, {16, 16, 16}, {17, 31, 15}, {33, 1, 64},
		{31, 33, 100}, {64, 15, 16}, {100, 33, 31}, {16, 100, 1}, {17, 64, 33},
	}
}

// gemmScales are the (alpha, beta) of the sgemm cases: beta 0 runs over a
// NaN-poisoned C (which it must not read).
func gemmScales() [][2]float32 { return [][2]float32{{1, 0}, {-0.75, 1}, {2.5, 0.5}, {0.5, 0}} }

// sgemmCases: every shape × transA × transB × (alpha, beta); odd shapes
// have leading dimensions 3 past their rows' ends.
func sgemmCases() []kcase {
	var cs []kcase
	for si, s := range gemmShapes() {
		m, n, k := s[0], s[1], s[2]
		pad := 3 * (si % 2)
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, ab := range gemmScales() {
					cs = append(cs, sgemmCase(m, n, k, pad, ta, tb, ab[0], ab[1]))
				}
			}
		}
	}
	return cs
}

func sgemmCase(m, n, k, pad int, ta, tb bool, alpha, beta float32) kcase {
	tr := func(t bool) string {
		if t {
			return "T"
		}
		return "N"
	}
	shape := fmt.Sprintf("M%d_N%d_K%d_%s%s_ld+%d_alpha%g_beta%g", m, n, k, tr(ta), tr(tb), pad, alpha, beta)
	r := rng("sgemm " + shape)
	// Stored shapes: A is M×K (K×M if transA), B K×N (N×K if transB).
	ar, ac := m, k
	if ta {
		ar, ac = k, m
	}
	br, bc := k, n
	if tb {
		br, bc = n, k
	}
	lda, ldb, ldc := ac+pad, bc+pad, n+pad
	a := normals(r, (ar-1)*lda+ac, 1)
	b := normals(r, (br-1)*ldb+bc, 1)
	var c []float32
	if beta == 0 {
		c = nans((m-1)*ldc + n)
	} else {
		c = normals(r, (m-1)*ldc+n, 1)
	}
	opA := func(i, kk int) float32 {
		if ta {
			return a[kk*lda+i]
		}
		return a[i*lda+kk]
	}
	opB := func(kk, j int) float32 {
		if tb {
			return b[j*ldb+kk]
		}
		return b[kk*ldb+j]
	}
	tol := filled(len(c), -1) // the padding between C's rows is not written
	for i := range m {
		for j := range n {
			s := 0.0
			for kk := range k {
				s += math.Abs(float64(opA(i, kk)) * float64(opB(kk, j)))
			}
			bc := 0.0
			if beta != 0 {
				bc = math.Abs(float64(beta) * float64(c[i*ldc+j]))
			}
			tol[i*ldc+j] = 1e-5 * (1 + math.Abs(float64(alpha))*s + bc)
		}
	}
	return kcase{
		kernel: "sgemm", shape: shape,
		bufs: []*buffer{{name: "A", data: a}, {name: "B", data: b}, {name: "C", data: c, tol: tol}},
		launch: func(d device.Device, v []device.Buffer) error {
			return device.Sgemm(d, ta, tb, m, n, k, alpha, v[0], lda, v[1], ldb, beta, v[2], ldc)
		},
	}
}
