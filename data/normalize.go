package data

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Normalization kinds (the job's data.normalize).
const (
	NormNone     = "none"     // features used as loaded
	NormStandard = "standard" // (x - mean) / std per feature
	NormMinMax   = "minmax"   // (x - min) / (max - min) per feature, to [0, 1]
	NormScale    = "scale"    // x / max|x| over every training value, to [-1, 1]
)

// NormKinds lists the accepted normalization kinds.
func NormKinds() []string { return []string{NormNone, NormStandard, NormMinMax, NormScale} }

// Norm is a per-feature affine map fitted on a training split: feature j
// of a sample becomes (x_j - Shift[j]) * Factor[j], computed in float32 in
// that order (Apply), by training, evaluation, serving and the ONNX graph
// alike. x is a loaded feature: for IDX images the pixel already scaled
// by 1/255 (the export's input_scale), so a served raw input r becomes
// (r·input_scale - Shift[j]) · Factor[j].
type Norm struct {
	// Kind is one of NormKinds except none.
	Kind string `json:"kind"`
	// Shift and Factor hold one value per feature.
	Shift  []float32 `json:"shift"`
	Factor []float32 `json:"factor"`
	// Constant lists the 0-based features that have one value on the whole
	// training split (std or range 0): their Factor is 1, so they become 0
	// under standard and minmax.
	Constant []int `json:"constant,omitempty"`
}

// Dim is the number of features the map applies to.
func (n *Norm) Dim() int { return len(n.Shift) }

// FitNorm computes kind's statistics on the training split d, in float64
// accumulated over the samples in order, so the result depends on the
// data alone (every worker that loads the same data computes the same
// bits). It returns nil for kind none. standard uses the population
// standard deviation (divisor N), from a second pass over the deviations
// from the mean; a feature whose std (standard) or max - min (minmax) is 0
// is listed in Constant and gets Factor 1. scale divides every feature by
// the largest |x| of the whole split (1 if all are 0).
func FitNorm(d *Dataset, kind string) (*Norm, error) {
	if kind == NormNone || kind == "" {
		return nil, nil
	}
	if d == nil || d.N < 1 || d.Dim < 1 || len(d.X) != d.N*d.Dim {
		return nil, errors.New("data: normalize: empty or inconsistent training set")
	}
	dim := d.Dim
	n := &Norm{Kind: kind, Shift: make([]float32, dim), Factor: make([]float32, dim)}
	switch kind {
	case NormStandard:
		mean := make([]float64, dim)
		for i := range d.N {
			for j, x := range d.X[i*dim : (i+1)*dim] {
				mean[j] += float64(x)
			}
		}
		for j := range mean {
			mean[j] /= float64(d.N)
		}
		ss := make([]float64, dim)
		for i := range d.N {
			for j, x := range d.X[i*dim : (i+1)*dim] {
				dv := float64(x) - mean[j]
				ss[j] += dv * dv
			}
		}
		for j := range dim {
			std := math.Sqrt(ss[j] / float64(d.N))
			n.Shift[j] = float32(mean[j])
			n.Factor[j] = factor(std, j, n)
		}
	case NormMinMax:
		lo, hi := slices.Clone(d.X[:dim]), slices.Clone(d.X[:dim])
		for i := 1; i < d.N; i++ {
			for j, x := range d.X[i*dim : (i+1)*dim] {
				lo[j], hi[j] = min(lo[j], x), max(hi[j], x)
			}
		}
		for j := range dim {
			n.Shift[j] = lo[j]
			n.Factor[j] = factor(float64(hi[j])-float64(lo[j]), j, n)
		}
	case NormScale:
		var m float64
		for _, x := range d.X {
			m = max(m, math.Abs(float64(x)))
		}
		f := float32(1)
		if m > 0 {
			f = float32(1 / m)
		}
		for j := range dim {
			n.Factor[j] = f
		}
	default:
		return nil, fmt.Errorf("data: normalize %q: want one of %q", kind, NormKinds())
	}
	return n, n.Validate(dim)
}

// factor is 1/spread, or 1 with feature j recorded as constant when the
// spread is 0.
func factor(spread float64, j int, n *Norm) float32 {
	if spread == 0 {
		n.Constant = append(n.Constant, j)
		return 1
	}
	return float32(1 / spread)
}

// Validate checks that n is a usable map for dim features: a known kind,
// dim finite shifts and finite non-zero factors.
func (n *Norm) Validate(dim int) error {
	if n == nil {
		return nil
	}
	if !slices.Contains(NormKinds()[1:], n.Kind) {
		return fmt.Errorf("data: normalization kind %q: want one of %q", n.Kind, NormKinds()[1:])
	}
	if len(n.Shift) != dim || len(n.Factor) != dim {
		return fmt.Errorf("data: normalization of %d shifts and %d factors: the data has %d features", len(n.Shift), len(n.Factor), dim)
	}
	for j := range dim {
		s, f := float64(n.Shift[j]), float64(n.Factor[j])
		if math.IsNaN(s) || math.IsInf(s, 0) || math.IsNaN(f) || math.IsInf(f, 0) || f == 0 {
			return fmt.Errorf("data: normalization feature %d: shift %v, factor %v: want finite values and a non-zero factor", j, s, f)
		}
	}
	for _, c := range n.Constant {
		if c < 0 || c >= dim {
			return fmt.Errorf("data: normalization: constant feature %d: want [0, %d)", c, dim)
		}
	}
	return nil
}

// Apply normalizes x, whole samples of Dim features, in place. A nil Norm
// leaves x as it is.
func (n *Norm) Apply(x []float32) {
	if n == nil {
		return
	}
	dim := len(n.Shift)
	for i := 0; i+dim <= len(x); i += dim {
		row := x[i : i+dim : i+dim]
		for j := range row {
			row[j] = (row[j] - n.Shift[j]) * n.Factor[j]
		}
	}
}

// ApplyTo returns a copy of d normalized (d itself is left alone); nil
// returns d.
func (n *Norm) ApplyTo(d *Dataset) *Dataset {
	if n == nil || d == nil {
		return d
	}
	c := *d
	c.X = slices.Clone(d.X)
	n.Apply(c.X)
	return &c
}

// Equal reports whether n and o are the same map, bit for bit.
func (n *Norm) Equal(o *Norm) bool {
	if n == nil || o == nil {
		return n == o
	}
	return n.Kind == o.Kind && slices.Equal(bitsOf(n.Shift), bitsOf(o.Shift)) && slices.Equal(bitsOf(n.Factor), bitsOf(o.Factor))
}

func bitsOf(v []float32) []uint32 {
	b := make([]uint32, len(v))
	for i, x := range v {
		b[i] = math.Float32bits(x)
	}
	return b
}

// MarshalNorm is n's JSON form (checkpoint manifest, export metadata);
// nil for a nil Norm.
func MarshalNorm(n *Norm) (json.RawMessage, error) {
	if n == nil {
		return nil, nil
	}
	b, err := json.Marshal(n)
	if err != nil {
		return nil, fmt.Errorf("data: normalization: %w", err)
	}
	return b, nil
}

// ParseNorm decodes MarshalNorm's JSON and validates it for dim features;
// empty input is a nil Norm. Every error names what is wrong (the bytes
// come from a file).
func ParseNorm(b []byte, dim int) (*Norm, error) {
	if len(b) == 0 || string(b) == "null" {
		return nil, nil
	}
	var n Norm
	if err := json.Unmarshal(b, &n); err != nil {
		return nil, fmt.Errorf("data: normalization: %w", err)
	}
	if err := n.Validate(dim); err != nil {
		return nil, err
	}
	return &n, nil
}

// ConstantFeatures returns the 0-based features that take one value on
// every sample of d (a column that carries no information), in order.
func ConstantFeatures(d *Dataset) []int {
	if d == nil || d.N < 1 || d.Dim < 1 || len(d.X) != d.N*d.Dim {
		return nil
	}
	first := d.X[:d.Dim]
	same := make([]bool, d.Dim)
	for j := range same {
		same[j] = true
	}
	for i := 1; i < d.N; i++ {
		for j, x := range d.X[i*d.Dim : (i+1)*d.Dim] {
			if x != first[j] {
				same[j] = false
			}
		}
	}
	var out []int
	for j, s := range same {
		if s {
			out = append(out, j)
		}
	}
	return out
}
