package optim

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ringtrain/ringtrain/internal/testutil"
)

// sumSquaresRef is the dumb sequential reference for SumSquares.
func sumSquaresRef(x []float32) float64 {
	s := 0.0
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return s
}

func TestSumSquares(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 1000, 100003} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 10)
		}
		got, want := SumSquares(x), sumSquaresRef(x)
		if math.Abs(got-want) > 1e-12*max(want, 1) {
			t.Errorf("n=%d: SumSquares = %v, reference %v", n, got, want)
		}
	}
	if got := SumSquares([]float32{3, 4}); got != 25 {
		t.Errorf("SumSquares(3,4) = %v, want 25", got)
	}
	// Large float32 values do not overflow the float64 sum.
	if got := SumSquares([]float32{math.MaxFloat32, math.MaxFloat32}); math.IsInf(got, 0) {
		t.Errorf("SumSquares(max, max) overflowed")
	}
}

// TestSumSquaresSharded: the sharded sums add up to the whole (the clipping
// protocol), to float64 rounding.
func TestSumSquaresSharded(t *testing.T) {
	x := initParams(1001, 3)
	whole := SumSquares(x)
	parts := SumSquares(x[:333]) + SumSquares(x[333:700]) + SumSquares(x[700:])
	if math.Abs(whole-parts) > 1e-12*whole {
		t.Errorf("sharded %v != whole %v", parts, whole)
	}
}

func TestClipFactor(t *testing.T) {
	tests := []struct {
		norm, max float64
		want      float32
	}{
		{10, 5, 0.5},
		{5, 5, 1},
		{1, 5, 1},
		{0, 5, 1},
		{10, 0, 1},
		{10, -1, 1},
		{4, 1, 0.25},
		{math.NaN(), 1, 1},
		{math.Inf(1), 1, 1},
		{1, math.NaN(), 1},
	}
	for _, tt := range tests {
		if got := ClipFactor(tt.norm, tt.max); got != tt.want {
			t.Errorf("ClipFactor(%v, %v) = %v, want %v", tt.norm, tt.max, got, tt.want)
		}
	}
}

// TestClipEndToEnd: clipping shards with the global factor leaves the
// global norm at maxNorm.
func TestClipEndToEnd(t *testing.T) {
	g := initParams(999, 4)
	Scale(g, 10)
	shards := [][]float32{g[:100], g[100:600], g[600:]}
	total := 0.0
	for _, s := range shards {
		total += SumSquares(s)
	}
	f := ClipFactor(math.Sqrt(total), 1.5)
	if f >= 1 {
		t.Fatalf("factor %v, want < 1", f)
	}
	for _, s := range shards {
		Scale(s, f)
	}
	if norm := math.Sqrt(SumSquares(g)); math.Abs(norm-1.5) > 1e-5 {
		t.Errorf("clipped norm %v, want 1.5", norm)
	}
}

func TestScale(t *testing.T) {
	x := []float32{1, -2, 0.5}
	Scale(x, 2)
	want := []float32{2, -4, 1}
	testutil.RequireBitsEqual(t, "x", x, want)
	Scale(x, 1)
	testutil.RequireBitsEqual(t, "x", x, want)
	Scale(nil, 3)
}
