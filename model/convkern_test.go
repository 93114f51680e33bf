package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestConvKernelsMatchGo runs the kernels the build selects (the assembly
// on amd64 with AVX2 and FMA) against the Go loops on random data: taps at
// negative and unaligned offsets, one and several blocks and rows. The
// sums differ only in rounding (FMA, lane order).
func TestConvKernelsMatchGo(t *testing.T) {
	if !useConvAsm {
		t.Log("no assembly kernels in this build: the Go loops are checked against themselves")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = rng.Float32()*2 - 1
		}
		return s
	}
	for _, c := range []struct{ taps, nblk, base int }{{1, 1, 0}, {25, 3, 40}, {150, 2, 301}, {7, 5, 1000}} {
		src := fill(2*c.base + 1000 + 16*c.nblk)
		off := make([]int, c.taps)
		lo, hi := 0, 0
		for i := range off {
			off[i] = rng.IntN(2*c.base+1000) - c.base
			lo, hi = min(lo, off[i]), max(hi, off[i])
		}
		a := fill(6 * c.taps)
		ldc := 16*c.nblk + 3
		got, want := fill(6*ldc), fill(6*ldc)
		copy(want, got)
		shiftGemm(a, src, c.base, off, lo, hi, c.nblk, got, 0, ldc)
		shiftGemmGo(a, src, c.base, off, c.nblk, want, 0, ldc)
		for i := range got {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*float64(c.taps) {
				t.Fatalf("shiftGemm %+v: [%d] = %v, want %v", c, i, got[i], want[i])
			}
		}
	}
	for _, c := range []struct{ rows, n, astride, bstride int }{{1, 8, 8, 8}, {3, 64, 70, 99}, {10, 640, 896, 1024}} {
		a, b := fill(3*c.rows*c.astride+c.n), fill(3*c.rows*c.bstride+c.n)
		aoff := [3]int{0, c.rows*c.astride + 1, 2*c.rows*c.astride + 3}
		boff := [3]int{5, 5, 2*c.rows*c.bstride - 2}
		var got, want [9]float32
		dot3x3(a, &aoff, b, &boff, c.rows, c.n, c.astride, c.bstride, &got)
		dot3x3Go(a, &aoff, b, &boff, c.rows, c.n, c.astride, c.bstride, &want)
		for i := range got {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-6*float64(c.rows*c.n) {
				t.Fatalf("dot3x3 %+v: [%d] = %v, want %v", c, i, got[i], want[i])
			}
		}
	}
	// The pooling is exact: max, one addition, masks. Ties (equal values
	// in a window) check that the first maximum wins.
	for _, c := range []struct{ pw, np int }{{1, 8}, {3, 16}, {14, 64}} {
		n := 2 * c.pw * c.np
		a0, a1, out, g := fill(n), fill(n), fill(c.pw*c.np), fill(c.pw*c.np)
		for i := 0; i < n; i += 5 {
			a1[i] = a0[i]
		}
		gotF, wantF := make([]float32, len(out)), make([]float32, len(out))
		poolFwd(a0, a1, c.pw, c.np, 0.25, gotF)
		poolFwdGo(a0, a1, c.pw, c.np, 0.25, wantF)
		got0, got1, want0, want1 := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		poolBwd(a0, a1, c.pw, c.np, out, g, got0, got1)
		poolBwdGo(a0, a1, c.pw, c.np, out, g, want0, want1)
		for _, p := range []struct {
			name      string
			got, want []float32
		}{{"poolFwd", gotF, wantF}, {"poolBwd top", got0, want0}, {"poolBwd bottom", got1, want1}} {
			for i := range p.got {
				if p.got[i] != p.want[i] {
					t.Fatalf("%s %+v: [%d] = %v, want %v", p.name, c, i, p.got[i], p.want[i])
				}
			}
		}
	}
}
