package optim

import (
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/internal/testutil"
)

// TestNoDecayRanges: with weight decay on, the exempt ranges get bitwise
// the parameters of the same optimizer without decay, the rest those of
// the decaying one, for every optimizer; Step still allocates nothing.
func TestNoDecayRanges(t *testing.T) {
	const n, steps = 103, 30
	ranges := [][2]int{{0, 5}, {17, 18}, {40, 77}, {101, 103}}
	exempt := func(i int) bool {
		for _, r := range ranges {
			if i >= r[0] && i < r[1] {
				return true
			}
		}
		return false
	}
	for _, spec := range []Spec{
		{Name: "sgd", WeightDecay: 0.1}, {Name: "sgd", Momentum: 0.9, WeightDecay: 0.1}, {Name: "sgd", Momentum: 0.9, Nesterov: true, WeightDecay: 0.1},
		{Name: "adam", WeightDecay: 0.1}, {Name: "adamw", WeightDecay: 0.1}, {Name: "adagrad", WeightDecay: 0.1}, {Name: "rmsprop", WeightDecay: 0.1},
	} {
		plain := spec
		plain.WeightDecay = 0
		mixed, dec, nodec := mustNew(t, spec, n), mustNew(t, spec, n), mustNew(t, plain, n)
		if err := mixed.SetNoDecay(ranges); err != nil {
			t.Fatal(err)
		}
		pm, pd, pn := initParams(n, 1), initParams(n, 1), initParams(n, 1)
		pr := newProblem(n, 2)
		g := make([]float32, n)
		noise := make([]float64, n)
		for range steps {
			pr.grads(pm, g, noise)
			gd, gn := append([]float32(nil), g...), append([]float32(nil), g...)
			// The reference optimizers see the mixed one's gradients.
			mixed.Step(pm, g, 0.01)
			dec.Step(pd, gd, 0.01)
			nodec.Step(pn, gn, 0.01)
			for i := range n {
				if exempt(i) {
					pd[i] = pm[i]
				} else {
					pn[i] = pm[i]
				}
			}
		}
		want := make([]float32, n)
		for i := range n {
			want[i] = pd[i]
			if exempt(i) {
				want[i] = pn[i]
			}
		}
		testutil.RequireBitsEqual(t, spec.Name+" params", pm, want)
		p, gg := initParams(n, 3), initParams(n, 4)
		if a := testing.AllocsPerRun(20, func() { mixed.Step(p, gg, 1e-3) }); a != 0 {
			t.Errorf("%s: Step with no-decay ranges allocates %v times", spec.Name, a)
		}
	}
}

func TestSetNoDecayErrors(t *testing.T) {
	for _, tc := range []struct {
		ranges [][2]int
		want   string
	}{
		{[][2]int{{3, 2}}, "range 0 [3, 2)"},
		{[][2]int{{0, 11}}, "range 0 [0, 11)"},
		{[][2]int{{4, 6}, {5, 7}}, "range 1 [5, 7)"},
		{[][2]int{{-1, 2}}, "range 0 [-1, 2)"},
		{[][2]int{{2, 2}}, "range 0 [2, 2)"},
	} {
		o := mustNew(t, Spec{Name: "adamw", WeightDecay: 0.1}, 10)
		err := o.SetNoDecay(tc.ranges)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SetNoDecay(%v) = %v, want an error naming %q", tc.ranges, err, tc.want)
		}
	}
	o := mustNew(t, Spec{Name: "adamw", WeightDecay: 0.1}, 10)
	if err := o.SetNoDecay([][2]int{{0, 10}}); err != nil {
		t.Errorf("the whole shard exempt: %v", err)
	}
	if err := o.SetNoDecay(nil); err != nil {
		t.Errorf("nil: %v", err)
	}
}
