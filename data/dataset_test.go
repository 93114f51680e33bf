package data

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func tinyDataset() *Dataset {
	return &Dataset{
		Name: "tiny", N: 3, Dim: 2, Shape: []int{2}, Classes: 3,
		X: []float32{0, 1, 10, 11, 20, 21},
		Y: []int32{0, 1, 2},
	}
}

func TestValidate(t *testing.T) {
	if err := tinyDataset().Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(*Dataset)
		want   string
	}{
		{"no samples", func(d *Dataset) { d.N, d.X, d.Y = 0, nil, nil }, "N 0"},
		{"zero dim", func(d *Dataset) { d.Dim = 0 }, "Dim 0"},
		{"short X", func(d *Dataset) { d.X = d.X[:5] }, "len(X) 5: want N*Dim = 3*2"},
		{"short Y", func(d *Dataset) { d.Y = d.Y[:2] }, "len(Y) 2: want N = 3"},
		{"no shape", func(d *Dataset) { d.Shape = nil }, "Shape is empty"},
		{"wrong shape", func(d *Dataset) { d.Shape = []int{1, 3} }, "Shape [1 3] has more than 2 elements"},
		{"small shape", func(d *Dataset) { d.Shape = []int{1, 1} }, "Shape [1 1] has 1 elements: want Dim = 2"},
		{"negative shape", func(d *Dataset) { d.Shape = []int{-1, -2} }, "size -1 at index 0"},
		{"no classes", func(d *Dataset) { d.Classes = 0 }, "Classes 0"},
		{"label too big", func(d *Dataset) { d.Y[2] = 3 }, "Y[2] = 3: want a label in [0, 3)"},
		{"negative label", func(d *Dataset) { d.Y[0] = -1 }, "Y[0] = -1"},
		{"NaN feature", func(d *Dataset) { d.X[3] = float32(math.NaN()) }, "X[3] (sample 1, feature 1) = NaN"},
		{"Inf feature", func(d *Dataset) { d.X[0] = float32(math.Inf(-1)) }, "X[0] (sample 0, feature 0) = -Inf"},
		{"overflowing N", func(d *Dataset) { d.N = math.MaxInt }, "len(X) 6"},
	}
	for _, tt := range tests {
		d := tinyDataset()
		tt.mutate(d)
		err := d.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "tiny") {
			t.Errorf("%s: %v, want an error naming the dataset and containing %q", tt.name, err, tt.want)
		}
	}
	var nilDS *Dataset
	if err := nilDS.Validate(); err == nil {
		t.Error("nil dataset validated")
	}
}

func TestGather(t *testing.T) {
	d := tinyDataset()
	x, y := make([]float32, 6), make([]int32, 3)
	if err := d.Gather([]int{2, 0, 2}, x, y); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(x, []float32{20, 21, 0, 1, 20, 21}) || !slices.Equal(y, []int32{2, 0, 2}) {
		t.Errorf("got x %v y %v", x, y)
	}
	if err := d.Gather(nil, nil, nil); err != nil {
		t.Errorf("empty gather: %v", err)
	}
	tests := []struct {
		name string
		idx  []int
		x    []float32
		y    []int32
		want string
	}{
		{"index too big", []int{0, 3}, make([]float32, 4), make([]int32, 2), "idx[1] = 3: want [0, 3)"},
		{"negative index", []int{-1}, make([]float32, 2), make([]int32, 1), "idx[0] = -1"},
		{"short x", []int{0, 1}, make([]float32, 3), make([]int32, 2), "len(x) 3, len(y) 2: want 4 and 2"},
		{"long y", []int{0}, make([]float32, 2), make([]int32, 2), "len(y) 2: want 2 and 1"},
	}
	broken := tinyDataset()
	broken.X = broken.X[:5]
	if err := broken.Gather([]int{2}, make([]float32, 2), make([]int32, 1)); err == nil || !strings.Contains(err.Error(), "inconsistent dataset") {
		t.Errorf("Gather on a dataset with a short X: %v", err)
	}
	for _, tt := range tests {
		before := slices.Clone(tt.x)
		err := d.Gather(tt.idx, tt.x, tt.y)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error containing %q", tt.name, err, tt.want)
		}
		if !slices.Equal(tt.x, before) {
			t.Errorf("%s: x written despite the error", tt.name)
		}
	}
}
