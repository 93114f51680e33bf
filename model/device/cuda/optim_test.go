//go:build gpu

package cuda

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ringtrain/ringtrain/model"
	"github.com/ringtrain/ringtrain/optim"
)

// The optimizer's update on the GPU (model.DeviceOptimizer) against
// optim's on the host, 10 steps over a shard of the MNIST MLP with runs
// exempt from weight decay: within 1e-6 relative (all the kernels'
// operations are IEEE .rn, so bitwise equality is expected; the test
// logs how many values differ).
func TestDeviceOptimizerMatchesHost(t *testing.T) {
	d := openT(t)
	spec := gpuSpecs[3]
	for _, ospec := range []optim.Spec{
		{Name: "adamw", WeightDecay: 0.1},
		{Name: "adam", WeightDecay: 1e-2},
		{Name: "sgd", Momentum: 0.9, Nesterov: true, WeightDecay: 1e-3},
		{Name: "adagrad", WeightDecay: 1e-3},
		{Name: "rmsprop", WeightDecay: 1e-3},
	} {
		t.Run(ospec.Name, func(t *testing.T) {
			gm, err := model.NewDeviceModel(spec.spec, spec.batch, d)
			if err != nil {
				t.Fatal(err)
			}
			defer gm.Close()
			if err := model.InitParams(spec.spec, gm.Params(), 3); err != nil {
				t.Fatal(err)
			}
			lo, hi := 1000, len(gm.Params())-77
			o, err := model.NewDeviceOptimizer(gm, ospec, lo, hi)
			if err != nil {
				t.Fatal(err)
			}
			defer o.Close()
			host, err := optim.New(ospec, hi-lo)
			if err != nil {
				t.Fatal(err)
			}
			nd := [][2]int{{0, 100}, {5000, 5001}, {hi - lo - 300, hi - lo}}
			for _, x := range []optim.Optimizer{o, host} {
				if err := x.SetNoDecay(nd); err != nil {
					t.Fatal(err)
				}
			}
			hp := slices.Clone(gm.Params()[lo:hi])
			r := rand.New(rand.NewPCG(1, 2))
			g := make([]float32, hi-lo)
			for step := range 10 {
				for i := range g {
					g[i] = float32(r.NormFloat64())
				}
				lr := 0.01 / float32(1+step%3)
				host.Step(hp, slices.Clone(g), lr)
				o.Step(gm.Params()[lo:hi], g, lr)
				if err := o.Err(); err != nil {
					t.Fatal(err)
				}
			}
			check := func(what string, got, want []float32) {
				worst, differ := 0.0, 0
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						differ++
						worst = max(worst, math.Abs(float64(got[i])-float64(want[i]))/max(math.Abs(float64(want[i])), 1e-30))
					}
				}
				t.Logf("%s: %d of %d values differ from the host's, largest relative difference %.2e", what, differ, len(want), worst)
				if worst > 1e-6 {
					t.Errorf("%s: relative difference %.2e > 1e-6", what, worst)
				}
			}
			check("parameters", gm.Params()[lo:hi], hp)
			hs := host.State()
			for i, s := range o.State() {
				check(s.Name, s.Data, hs[i].Data)
			}
		})
	}
}
