package data

import "testing"

func BenchmarkDefault(b *testing.B) {
	for b.Loop() {
		if _, _, err := Default(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIndicesNewEpoch includes the permutation of 60,000 samples.
func BenchmarkIndicesNewEpoch(b *testing.B) {
	s, err := NewSampler(60000, 256, 1)
	if err != nil {
		b.Fatal(err)
	}
	out := make([]int, 0, 64)
	epoch := 0
	for b.Loop() {
		epoch++
		if _, err := s.Indices(Cursor{Epoch: epoch}, 1, 4, out); err != nil {
			b.Fatal(err)
		}
	}
}
