package telemetry

import (
	"math"
	"slices"
	"testing"
)

func TestSpikeDetector(t *testing.T) {
	var d SpikeDetector
	for _, v := range []float64{1, 0.9, 0.85, 0.8, 0.8, 0.78} {
		if s, _ := d.Observe(v); s {
			t.Fatalf("%v flagged during a smooth descent", v)
		}
	}
	if s, _ := d.Observe(0.82); s {
		t.Fatal("a small wobble flagged")
	}
	if s, mean := d.Observe(3.1); !s || mean < 0.7 || mean > 0.9 {
		t.Fatalf("a spike to 3.1 not flagged (mean %v)", mean)
	}
	if s, _ := d.Observe(math.NaN()); s {
		t.Fatal("NaN is for the non-finite path, not a spike")
	}
	var fresh SpikeDetector
	if s, _ := fresh.Observe(100); s {
		t.Fatal("flagged without history")
	}
}

func TestStragglers(t *testing.T) {
	for _, tc := range []struct {
		times []float64
		slow  []int
	}{
		{[]float64{0.010, 0.011, 0.030, 0.010}, []int{2}},
		{[]float64{0.010, 0.012}, nil},
		{[]float64{0.010}, nil},
		{[]float64{0.050, 0.010, 0.010}, []int{0}},
	} {
		slow, _ := Stragglers(tc.times, 1.5)
		if !slices.Equal(slow, tc.slow) {
			t.Errorf("%v: %v, want %v", tc.times, slow, tc.slow)
		}
	}
}
