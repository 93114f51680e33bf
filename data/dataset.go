package data

import (
	"fmt"
	"math"
)

// Dataset is N labelled samples of Dim float32 features each.
type Dataset struct {
	// Name identifies the data in logs, e.g. "mnist10k/train".
	Name string
	// X holds N*Dim features, row-major (sample i is X[i*Dim:(i+1)*Dim]).
	// Images are scaled to [0, 1] as v/255.
	X []float32
	// Y holds N labels in [0, Classes).
	Y []int32
	// N is the number of samples (>= 1), Dim the features per sample (>= 1).
	N, Dim int
	// Shape is the per-sample shape, e.g. [1, 28, 28]; its product is Dim.
	Shape []int
	// Classes is the number of label values (>= 1).
	Classes int
	// ClassNames, if set, names each class (an image folder's class
	// directories); nil means the labels are the class ids.
	ClassNames []string
}

// Validate checks that the fields are consistent: sizes, shape, finite
// features and labels in range. The error names the field and the value.
func (d *Dataset) Validate() error {
	if d == nil {
		return fmt.Errorf("data: nil dataset")
	}
	if d.N < 1 {
		return fmt.Errorf("data: %s: N %d: want at least one sample", d.Name, d.N)
	}
	if d.Dim < 1 {
		return fmt.Errorf("data: %s: Dim %d: want >= 1", d.Name, d.Dim)
	}
	if d.N > math.MaxInt/d.Dim || len(d.X) != d.N*d.Dim {
		return fmt.Errorf("data: %s: len(X) %d: want N*Dim = %d*%d", d.Name, len(d.X), d.N, d.Dim)
	}
	if len(d.Y) != d.N {
		return fmt.Errorf("data: %s: len(Y) %d: want N = %d", d.Name, len(d.Y), d.N)
	}
	if err := checkShape(d.Shape, d.Dim); err != nil {
		return fmt.Errorf("data: %s: %w", d.Name, err)
	}
	if d.Classes < 1 {
		return fmt.Errorf("data: %s: Classes %d: want >= 1", d.Name, d.Classes)
	}
	for i, y := range d.Y {
		if y < 0 || int(y) >= d.Classes {
			return fmt.Errorf("data: %s: Y[%d] = %d: want a label in [0, %d)", d.Name, i, y, d.Classes)
		}
	}
	for i, x := range d.X {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("data: %s: X[%d] (sample %d, feature %d) = %v: want a finite value", d.Name, i, i/d.Dim, i%d.Dim, x)
		}
	}
	return nil
}

// checkShape reports whether shape is a non-empty list of positive sizes
// whose product is dim.
func checkShape(shape []int, dim int) error {
	if len(shape) == 0 {
		return fmt.Errorf("Shape is empty: want the per-sample shape, e.g. [%d]", dim)
	}
	prod := 1
	for i, s := range shape {
		if s < 1 {
			return fmt.Errorf("Shape %v: size %d at index %d: want >= 1", shape, s, i)
		}
		if prod > dim/s {
			return fmt.Errorf("Shape %v has more than %d elements: want exactly Dim = %d", shape, dim, dim)
		}
		prod *= s
	}
	if prod != dim {
		return fmt.Errorf("Shape %v has %d elements: want Dim = %d", shape, prod, dim)
	}
	return nil
}

// Gather copies the samples idx (in order) into x, which must be exactly
// len(idx)*Dim long, and their labels into y, exactly len(idx) long. Every
// index is checked before anything is written. Of the dataset itself only
// the sizes are checked (call Validate once after building one by hand).
func (d *Dataset) Gather(idx []int, x []float32, y []int32) error {
	if d.N < 0 || d.Dim < 0 || len(d.Y) != d.N || (d.Dim > 0 && d.N > math.MaxInt/d.Dim) || len(d.X) != d.N*d.Dim {
		return fmt.Errorf("data: %s: Gather: inconsistent dataset (N %d, Dim %d, len(X) %d, len(Y) %d)", d.Name, d.N, d.Dim, len(d.X), len(d.Y))
	}
	if len(x) != len(idx)*d.Dim || len(y) != len(idx) {
		return fmt.Errorf("data: %s: Gather of %d samples: len(x) %d, len(y) %d: want %d and %d",
			d.Name, len(idx), len(x), len(y), len(idx)*d.Dim, len(idx))
	}
	for j, i := range idx {
		if i < 0 || i >= d.N {
			return fmt.Errorf("data: %s: Gather: idx[%d] = %d: want [0, %d)", d.Name, j, i, d.N)
		}
	}
	for j, i := range idx {
		copy(x[j*d.Dim:(j+1)*d.Dim], d.X[i*d.Dim:(i+1)*d.Dim])
		y[j] = d.Y[i]
	}
	return nil
}
