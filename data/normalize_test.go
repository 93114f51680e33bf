package data

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// refNorm is the dumb reference: per feature, the statistics from the
// textbook formulas over a column copied out, in float64.
func refNorm(d *Dataset, kind string) (shift, factor []float64) {
	shift, factor = make([]float64, d.Dim), make([]float64, d.Dim)
	var all float64
	for _, x := range d.X {
		all = math.Max(all, math.Abs(float64(x)))
	}
	for j := range d.Dim {
		col := make([]float64, d.N)
		for i := range d.N {
			col[i] = float64(d.X[i*d.Dim+j])
		}
		switch kind {
		case NormStandard:
			var s float64
			for _, v := range col {
				s += v
			}
			mean := s / float64(d.N)
			var ss float64
			for _, v := range col {
				ss += (v - mean) * (v - mean)
			}
			std := math.Sqrt(ss / float64(d.N))
			shift[j], factor[j] = mean, 1/std
			if std == 0 {
				factor[j] = 1
			}
		case NormMinMax:
			lo, hi := slices.Min(col), slices.Max(col)
			shift[j], factor[j] = lo, 1/(hi-lo)
			if hi == lo {
				factor[j] = 1
			}
		case NormScale:
			shift[j], factor[j] = 0, 1/all
		}
	}
	return shift, factor
}

// badlyScaled is n samples of dim features, feature j drawn around
// offset 1000·j with spread 10^(j mod 5), feature 2 constant.
func badlyScaled(n, dim int, seed uint64) *Dataset {
	rng := rand.New(rand.NewPCG(seed, 0))
	d := &Dataset{Name: "t", N: n, Dim: dim, Shape: []int{dim}, Classes: 2, X: make([]float32, n*dim), Y: make([]int32, n)}
	for i := range n {
		for j := range dim {
			v := 1000*float64(j) + rng.NormFloat64()*math.Pow(10, float64(j%5))
			if j == 2 {
				v = 7
			}
			d.X[i*dim+j] = float32(v)
		}
		d.Y[i] = int32(i % 2)
	}
	return d
}

func TestFitNormMatchesReference(t *testing.T) {
	d := badlyScaled(500, 6, 1)
	for _, kind := range []string{NormStandard, NormMinMax, NormScale} {
		t.Run(kind, func(t *testing.T) {
			n, err := FitNorm(d, kind)
			if err != nil {
				t.Fatal(err)
			}
			shift, factor := refNorm(d, kind)
			for j := range d.Dim {
				if math.Abs(float64(n.Shift[j])-shift[j]) > 1e-6*math.Max(1, math.Abs(shift[j])) ||
					math.Abs(float64(n.Factor[j])-factor[j]) > 1e-6*math.Abs(factor[j]) {
					t.Errorf("feature %d: shift %v factor %v, reference %v %v", j, n.Shift[j], n.Factor[j], shift[j], factor[j])
				}
			}
			wantConst := []int{2}
			if kind == NormScale {
				wantConst = nil
			}
			if !slices.Equal(n.Constant, wantConst) {
				t.Errorf("constant %v, want %v", n.Constant, wantConst)
			}
			x := slices.Clone(d.X)
			n.Apply(x)
			for i := range d.N {
				for j := range d.Dim {
					want := (float64(d.X[i*d.Dim+j]) - shift[j]) * factor[j]
					if got := float64(x[i*d.Dim+j]); math.Abs(got-want) > 1e-4*math.Max(1, math.Abs(want)) {
						t.Fatalf("sample %d feature %d: %v, reference %v", i, j, got, want)
					}
				}
			}
			if kind != NormScale && (x[2] != 0 || x[d.Dim+2] != 0) {
				t.Errorf("constant feature normalized to %v, %v: want 0", x[2], x[d.Dim+2])
			}
			if kind == NormMinMax {
				if lo, hi := slices.Min(x), slices.Max(x); lo < 0 || hi > 1 {
					t.Errorf("minmax range [%v, %v]", lo, hi)
				}
			}
		})
	}
	if n, err := FitNorm(d, NormNone); n != nil || err != nil {
		t.Errorf("none: %v, %v", n, err)
	}
	if _, err := FitNorm(d, "zscore"); err == nil {
		t.Error("unknown kind accepted")
	}
}

// The statistics are a function of the data alone: fitted twice, and on a
// copy, they are the same bits; their JSON round trip too.
func TestFitNormDeterministic(t *testing.T) {
	d := badlyScaled(2000, 9, 3)
	c := *d
	c.X = slices.Clone(d.X)
	for _, kind := range NormKinds()[1:] {
		a, _ := FitNorm(d, kind)
		b, _ := FitNorm(&c, kind)
		if !a.Equal(b) {
			t.Fatalf("%s: two fits differ", kind)
		}
		j, err := MarshalNorm(a)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseNorm(j, d.Dim)
		if err != nil || !back.Equal(a) {
			t.Fatalf("%s: JSON round trip: %v (%s)", kind, err, j)
		}
	}
}

func TestParseNormRejects(t *testing.T) {
	for name, in := range map[string]string{
		"not json":    `{`,
		"kind":        `{"kind":"zscore","shift":[0],"factor":[1]}`,
		"dim":         `{"kind":"standard","shift":[0,0],"factor":[1,1]}`,
		"zero factor": `{"kind":"standard","shift":[0],"factor":[0]}`,
		"constant":    `{"kind":"standard","shift":[0],"factor":[1],"constant":[3]}`,
	} {
		if _, err := ParseNorm([]byte(in), 1); err == nil {
			t.Errorf("%s: %s accepted", name, in)
		}
	}
	if n, err := ParseNorm(nil, 3); n != nil || err != nil {
		t.Errorf("empty: %v %v", n, err)
	}
}

func FuzzParseNorm(f *testing.F) {
	f.Add([]byte(`{"kind":"standard","shift":[1,2],"factor":[0.5,1],"constant":[1]}`), 2)
	f.Add([]byte(`{"kind":"scale","shift":[0],"factor":[1e-3]}`), 1)
	f.Add([]byte(`null`), 0)
	f.Fuzz(func(t *testing.T, b []byte, dim int) {
		n, err := ParseNorm(b, dim)
		if err != nil || n == nil {
			return
		}
		x := make([]float32, 2*n.Dim())
		n.Apply(x)
		for _, v := range x {
			if math.IsNaN(float64(v)) { // (0 - shift)·factor may overflow, never be NaN
				t.Fatalf("a valid map made %v from 0", v)
			}
		}
	})
}

func TestConstantFeatures(t *testing.T) {
	d := badlyScaled(50, 5, 2)
	if got := ConstantFeatures(d); !slices.Equal(got, []int{2}) {
		t.Fatalf("constant %v, want [2]", got)
	}
}

func TestSplitValidation(t *testing.T) {
	d := badlyScaled(101, 3, 4)
	for i := range d.N {
		d.X[i*3] = float32(i) // feature 0 identifies the sample
	}
	tr, val, err := SplitValidation(d, 0.2, 9)
	if err != nil {
		t.Fatal(err)
	}
	if val.N != 20 || tr.N != 81 || tr.Classes != 2 || !slices.Equal(tr.Shape, d.Shape) {
		t.Fatalf("split %d/%d classes %d", tr.N, val.N, tr.Classes)
	}
	seen := map[float32]bool{}
	for _, part := range []*Dataset{tr, val} {
		for i := range part.N {
			id := part.X[i*3]
			if seen[id] {
				t.Fatalf("sample %v in both splits", id)
			}
			seen[id] = true
			if part.Y[i] != d.Y[int(id)] {
				t.Fatalf("sample %v lost its label", id)
			}
		}
	}
	if len(seen) != d.N {
		t.Fatalf("%d samples kept of %d", len(seen), d.N)
	}
	tr2, val2, _ := SplitValidation(d, 0.2, 9)
	if !slices.Equal(tr2.X, tr.X) || !slices.Equal(val2.X, val.X) {
		t.Fatal("same seed, another split")
	}
	_, val3, _ := SplitValidation(d, 0.2, 10)
	if slices.Equal(val3.X, val.X) {
		t.Fatal("another seed, same split")
	}
	for _, bad := range []float64{0, -0.1, 0.6, math.NaN()} {
		if _, _, err := SplitValidation(d, bad, 1); err == nil {
			t.Errorf("fraction %v accepted", bad)
		}
	}
	one := badlyScaled(1, 3, 1)
	if _, _, err := SplitValidation(one, 0.5, 1); err == nil {
		t.Error("a split of one sample accepted")
	}
}
