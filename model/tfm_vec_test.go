package model

import (
	"math"
	"testing"
)

// geluRef is GELU and its derivative in float64 with math.Erf.
func geluRef(z float64) (y, dy float64) {
	cdf := 0.5 * (1 + math.Erf(z/math.Sqrt2))
	return z * cdf, cdf + z*math.Exp(-z*z/2)/math.Sqrt(2*math.Pi)
}

// TestExpf32 compares expf32 with math.Exp over the float32 range (within
// 2 ulp) and at its edges.
func TestTfmExpf32(t *testing.T) {
	for x := -87.0; x <= 88.5; x += 0.0137 {
		got, want := float64(expf32(float32(x))), math.Exp(float64(float32(x)))
		if math.Abs(got-want) > 2.4e-7*want {
			t.Fatalf("expf32(%v) = %v, want %v (rel err %.2e)", float32(x), got, want, math.Abs(got-want)/want)
		}
	}
	nan := float32(math.NaN())
	for _, tc := range []struct{ x, want float32 }{
		{0, 1}, {-100, 0}, {float32(math.Inf(-1)), 0}, {89, float32(math.Inf(1))}, {float32(math.Inf(1)), float32(math.Inf(1))},
	} {
		if got := expf32(tc.x); got != tc.want {
			t.Errorf("expf32(%v) = %v, want %v", tc.x, got, tc.want)
		}
	}
	if got := expf32(nan); got == got {
		t.Errorf("expf32(NaN) = %v, want NaN", got)
	}
}

// TestGeluf32 compares GELU and its derivative with the float64 formulas
// (math.Erf): within the erf approximation's 1.5e-7 (times |z|) plus
// float32 rounding.
func TestGELUf32(t *testing.T) {
	var worstY, worstD float64
	for z := -12.0; z <= 12; z += 0.00731 {
		y, dy := geluf32(float32(z))
		wy, wd := geluRef(float64(float32(z)))
		ey := math.Abs(float64(y)-wy) / max(1, math.Abs(z))
		ed := math.Abs(float64(dy) - wd)
		worstY, worstD = max(worstY, ey), max(worstD, ed)
		if ey > 4e-7 || ed > 1e-6 {
			t.Fatalf("geluf32(%v) = %v, %v; want %v, %v", float32(z), y, dy, wy, wd)
		}
	}
	t.Logf("worst error: GELU %.2e (relative to max(1, |z|)), GELU' %.2e", worstY, worstD)
}

// TestVecKernelsMatchGo: the assembly kernels (where the CPU has them)
// agree with the scalar functions within a few float32 ulp on every
// length (the tail runs in Go), and NaN stays NaN.
func TestTfmVecKernelsMatchGo(t *testing.T) {
	if !useTfmAsm {
		t.Skip("no assembly kernels on this CPU or build")
	}
	for _, n := range []int{1, 7, 8, 9, 64, 203} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(math.Sin(float64(i)*1.37)) * 6
		}
		if n > 8 {
			x[3] = float32(math.NaN())
		}
		y, d := append([]float32(nil), x...), make([]float32, n)
		geluSlice(y, d)
		y2 := append([]float32(nil), x...)
		geluSlice(y2, nil)
		for i, z := range x {
			wy, wd := geluf32(z)
			if z != z {
				if y[i] == y[i] || d[i] == d[i] || y2[i] == y2[i] {
					t.Fatalf("n %d: GELU(NaN) = %v, %v (no d: %v), want NaN", n, y[i], d[i], y2[i])
				}
				continue
			}
			if !within(y[i], wy, 4e-7) || !within(d[i], wd, 4e-7) || y2[i] != y[i] {
				t.Fatalf("n %d: geluSlice(%v) = %v, %v (no d: %v), geluf32 %v, %v", n, z, y[i], d[i], y2[i], wy, wd)
			}
		}
		e := make([]float32, n)
		for i := range e {
			e[i] = -float32(i%17) * 0.9
		}
		want := append([]float32(nil), e...)
		var wsum float32
		for i, v := range want {
			want[i] = expf32((v - 0.5) * 1.3)
			wsum += want[i]
		}
		sum := expSum(e, 0.5, 1.3)
		for i := range e {
			if !within(e[i], want[i], 3e-7) {
				t.Fatalf("n %d: expSum[%d] = %v, want %v", n, i, e[i], want[i])
			}
		}
		if !within(sum, wsum, 1e-6) {
			t.Fatalf("n %d: expSum = %v, want %v", n, sum, wsum)
		}
	}
}

// within reports whether got is within tol of want, relative to max(1,
// |want|).
func within(got, want float32, tol float64) bool {
	return math.Abs(float64(got-want)) <= tol*max(1, math.Abs(float64(want)))
}

// TestTfmLayerNormRowsMatchGo: the LayerNorm row kernels in assembly
// agree with their Go loops within float32 rounding, with and without
// bias.
func TestTfmLayerNormRowsMatchGo(t *testing.T) {
	if !useTfmAsm {
		t.Skip("no assembly kernels on this CPU or build")
	}
	rows := func(n int, seed uint64) []float32 {
		v := make([]float32, n)
		fillNormal(v, 1, newSplitMix(seed, "ln"))
		return v
	}
	for _, n := range []int{8, 16, 128, 200} {
		x, w, b, g := rows(n, 1), rows(n, 2), rows(n, 3), rows(n, 4)
		for i := range x {
			x[i] += 3 // a mean far from 0
		}
		inv := 1 / float32(n)
		m1, v1 := lnStats(x, inv)
		m2, v2 := lnStatsGo(x, inv)
		if !within(m1, m2, 1e-6) || !within(v1, v2, 1e-5) {
			t.Fatalf("n %d: lnStats %v, %v; Go %v, %v", n, m1, v1, m2, v2)
		}
		a1, b1 := lnGradSums(x, w, g, m1)
		a2, b2 := lnGradSumsGo(x, w, g, m1)
		if !within(a1, a2, 1e-5) || !within(b1, b2, 1e-5) {
			t.Fatalf("n %d: lnGradSums %v, %v; Go %v, %v", n, a1, b1, a2, b2)
		}
		for _, bias := range [][]float32{nil, b} {
			y1, y2 := make([]float32, n), make([]float32, n)
			lnNorm(x, w, bias, y1, m1, 0.7)
			lnNormGo(x, w, bias, y2, m1, 0.7)
			for i := range y1 {
				if !within(y1[i], y2[i], 1e-6) {
					t.Fatalf("n %d: lnNorm[%d] = %v, Go %v", n, i, y1[i], y2[i])
				}
			}
		}
		d1, d2 := make([]float32, n), make([]float32, n)
		lnDx(x, w, g, d1, m1, 0.7, 0.2, 0.3)
		lnDxGo(x, w, g, d2, m1, 0.7, 0.2, 0.3)
		e1, e2 := rows(n, 5), rows(n, 5)
		lnDw(x, g, e1, m1, 0.7)
		lnDwGo(x, g, e2, m1, 0.7)
		for i := range d1 {
			if !within(d1[i], d2[i], 1e-6) || !within(e1[i], e2[i], 1e-6) {
				t.Fatalf("n %d: lnDx[%d] = %v, Go %v; lnDw %v, Go %v", n, i, d1[i], d2[i], e1[i], e2[i])
			}
		}
	}
}
