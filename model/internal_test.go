package model

import (
	"math"
	"testing"
)

func TestEvalSizeFor(t *testing.T) {
	tests := []struct{ k, chunk, want int }{
		{1, 256, 1}, {2, 256, 2}, {3, 256, 4}, {37, 256, 64}, {128, 256, 128},
		{129, 256, 256}, {255, 256, 256}, {256, 256, 256}, {300, 300, 300}, {200, 300, 256}, {290, 300, 300},
	}
	for _, tc := range tests {
		if got := evalSizeFor(tc.k, tc.chunk); got != tc.want {
			t.Errorf("evalSizeFor(%d, %d) = %d, want %d", tc.k, tc.chunk, got, tc.want)
		}
	}
}

func TestArgmax(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		v    []float32
		want int
	}{
		{[]float32{1, 3, 2}, 1},
		{[]float32{3, 3, 2}, 0},
		{[]float32{nan, 1, 2}, 2},
		{[]float32{nan, nan}, 0},
		{[]float32{-5, -1, -3}, 1},
	}
	for _, tc := range tests {
		if got := argmax(tc.v); got != tc.want {
			t.Errorf("argmax(%v) = %d, want %d", tc.v, got, tc.want)
		}
	}
}

func TestSampleLoss(t *testing.T) {
	tests := []struct {
		loss   string
		logits []float32
		label  int
		want   float64
	}{
		{LossXent, []float32{0, 0}, 0, math.Ln2},
		{LossXent, []float32{1000, 0}, 0, 0},         // no overflow
		{LossXent, []float32{0, 1000}, 0, 1000},      // no overflow
		{LossMSE, []float32{1, 0, 0, 0}, 0, 0},       // perfect
		{LossMSE, []float32{0, 2, 0, 0}, 0, 5.0 / 4}, // (1 + 4) / 4
	}
	for _, tc := range tests {
		if got := sampleLoss(tc.loss, tc.logits, tc.label); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("sampleLoss(%s, %v, %d) = %v, want %v", tc.loss, tc.logits, tc.label, got, tc.want)
		}
	}
}
