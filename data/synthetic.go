package data

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// MaxSyntheticElems caps N*Dim for Synthetic (1 GiB of float32 features).
const MaxSyntheticElems = 1 << 28

// SyntheticSpec describes a learnable synthetic classification task.
type SyntheticSpec struct {
	// N samples (>= 1) of Dim features (>= 1); N*Dim <= MaxSyntheticElems.
	N, Dim int
	// Classes >= 2.
	Classes int
	// Seed fixes the teacher and the samples.
	Seed uint64
	// Noise >= 0 is the standard deviation of Gaussian noise added to the
	// teacher's logits before the argmax; 0 makes the task exactly linearly
	// separable.
	Noise float64
}

// Synthetic returns N samples with features drawn from N(0, 1) and label
// argmax_c(x·W[:,c] + Noise*N(0,1)) for a random teacher W (Dim x Classes,
// entries N(0, 1/Dim)) drawn first from the same seeded PCG stream. The
// result depends on the spec alone.
func Synthetic(s SyntheticSpec) (*Dataset, error) {
	switch {
	case s.N < 1:
		return nil, fmt.Errorf("data: synthetic: N %d: want >= 1", s.N)
	case s.Dim < 1:
		return nil, fmt.Errorf("data: synthetic: Dim %d: want >= 1", s.Dim)
	case s.N > MaxSyntheticElems/s.Dim:
		return nil, fmt.Errorf("data: synthetic: N*Dim = %d*%d: want at most %d features", s.N, s.Dim, MaxSyntheticElems)
	case s.Classes < 2 || s.Classes > math.MaxInt32:
		return nil, fmt.Errorf("data: synthetic: Classes %d: want >= 2", s.Classes)
	case !(s.Noise >= 0) || math.IsInf(s.Noise, 0):
		return nil, fmt.Errorf("data: synthetic: Noise %v: want a finite value >= 0", s.Noise)
	}
	if s.Classes > MaxSyntheticElems/s.Dim {
		return nil, fmt.Errorf("data: synthetic: Dim*Classes = %d*%d: want at most %d teacher weights", s.Dim, s.Classes, MaxSyntheticElems)
	}
	rng := rand.New(rand.NewPCG(s.Seed, 0x73796e7468657469)) // "syntheti"
	teacher := make([]float64, s.Dim*s.Classes)
	scale := 1 / math.Sqrt(float64(s.Dim))
	for i := range teacher {
		teacher[i] = rng.NormFloat64() * scale
	}
	d := &Dataset{
		Name:    "synthetic",
		X:       make([]float32, s.N*s.Dim),
		Y:       make([]int32, s.N),
		N:       s.N,
		Dim:     s.Dim,
		Shape:   []int{s.Dim},
		Classes: s.Classes,
	}
	logits := make([]float64, s.Classes)
	for i := range s.N {
		x := d.X[i*s.Dim : (i+1)*s.Dim]
		for j := range x {
			x[j] = float32(rng.NormFloat64())
		}
		clear(logits)
		for j, v := range x {
			w := teacher[j*s.Classes : (j+1)*s.Classes]
			for c := range logits {
				// The explicit conversion forbids fusing into an FMA, so
				// labels are the same on every architecture.
				logits[c] += float64(float64(v) * w[c])
			}
		}
		best := 0
		for c := range logits {
			if s.Noise > 0 {
				logits[c] += float64(s.Noise * rng.NormFloat64())
			}
			if logits[c] > logits[best] {
				best = c
			}
		}
		d.Y[i] = int32(best)
	}
	return d, nil
}
