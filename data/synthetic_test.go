package data

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestSyntheticDeterministic(t *testing.T) {
	spec := SyntheticSpec{N: 500, Dim: 8, Classes: 3, Seed: 42, Noise: 0.1}
	a, err := Synthetic(spec)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Synthetic(spec)
	if !slices.Equal(a.X, b.X) || !slices.Equal(a.Y, b.Y) {
		t.Error("same spec, different data")
	}
	spec.Seed = 43
	c, _ := Synthetic(spec)
	if slices.Equal(a.Y, c.Y) {
		t.Error("different seeds, same labels")
	}
	if err := a.Validate(); err != nil {
		t.Error(err)
	}
	if a.N != 500 || a.Dim != 8 || a.Classes != 3 || !slices.Equal(a.Shape, []int{8}) {
		t.Errorf("N %d Dim %d Classes %d Shape %v", a.N, a.Dim, a.Classes, a.Shape)
	}
}

// TestSyntheticLearnable: a softmax regression trained by plain SGD on the
// noiseless task fits it far better than chance, and every class occurs.
func TestSyntheticLearnable(t *testing.T) {
	const classes, dim = 4, 10
	d, err := Synthetic(SyntheticSpec{N: 2000, Dim: dim, Classes: classes, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var count [classes]int
	for _, y := range d.Y {
		count[y]++
	}
	for c, k := range count {
		if k < d.N/(4*classes) {
			t.Errorf("class %d has %d of %d samples", c, k, d.N)
		}
	}
	w := make([]float64, dim*classes)
	logits := make([]float64, classes)
	predict := func(x []float32) {
		for c := range logits {
			logits[c] = 0
			for j, v := range x {
				logits[c] += float64(v) * w[j*classes+c]
			}
		}
	}
	for range 20 {
		for i := range d.N {
			x := d.X[i*dim : (i+1)*dim]
			predict(x)
			m := slices.Max(logits)
			z := 0.0
			for c := range logits {
				logits[c] = math.Exp(logits[c] - m)
				z += logits[c]
			}
			for c := range logits {
				g := logits[c] / z
				if c == int(d.Y[i]) {
					g--
				}
				for j, v := range x {
					w[j*classes+c] -= 0.1 * g * float64(v)
				}
			}
		}
	}
	correct := 0
	for i := range d.N {
		predict(d.X[i*dim : (i+1)*dim])
		best := 0
		for c := range logits {
			if logits[c] > logits[best] {
				best = c
			}
		}
		if best == int(d.Y[i]) {
			correct++
		}
	}
	if acc := float64(correct) / float64(d.N); acc < 0.9 {
		t.Errorf("training accuracy %.3f, want >= 0.9 on a linearly separable task", acc)
	}
}

func TestSyntheticRejects(t *testing.T) {
	tests := []struct {
		spec SyntheticSpec
		want string
	}{
		{SyntheticSpec{N: 0, Dim: 1, Classes: 2}, "N 0"},
		{SyntheticSpec{N: 1, Dim: 0, Classes: 2}, "Dim 0"},
		{SyntheticSpec{N: 1, Dim: 1, Classes: 1}, "Classes 1"},
		{SyntheticSpec{N: 1, Dim: 1, Classes: 2, Noise: -1}, "Noise -1"},
		{SyntheticSpec{N: 1, Dim: 1, Classes: 2, Noise: math.NaN()}, "Noise NaN"},
		{SyntheticSpec{N: math.MaxInt, Dim: 2, Classes: 2}, "N*Dim"},
		{SyntheticSpec{N: 1, Dim: 1 << 20, Classes: 1 << 20}, "Dim*Classes"},
	}
	for _, tt := range tests {
		if _, err := Synthetic(tt.spec); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want an error containing %q", tt.spec, err, tt.want)
		}
	}
}
