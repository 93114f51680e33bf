package devicetest

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/ringtrain/ringtrain/model/device"
)

// The optimizers' cases: n across the block edge (1, 255, 256, 257,
// 1000), with and without weight decay (the launch of a run exempt from
// decay); parameters and gradients ~ N(0, 1) with exact zeros, a
// subnormal and a NaN among the gradients; state of realistic sizes
// (squares for the second moments). Every output must equal the emulated
// device's bitwise (NaN equals NaN): each element is a fixed sequence of
// correctly rounded float32 operations (kernels/optim.ptx).

// optimSizes are the element counts of the optimizers' cases.
func optimSizes() []int { return []int{1, 255, 256, 257, 1000} }

// optimGrads are n gradients with exact zeros, a subnormal and a NaN.
func optimGrads(r *rand.Rand, n int) []float32 {
	g := normals(r, n, 1)
	for i := range g {
		switch {
		case i%37 == 0:
			g[i] = 0
		case i%101 == 7:
			g[i] = math.Float32frombits(0x00000123) // subnormal
		case i%251 == 11:
			g[i] = float32(math.NaN())
		}
	}
	return g
}

// squares are n values ~ (N(0, sd²))², a second moment's size.
func squares(r *rand.Rand, n int, sd float64) []float32 {
	v := normals(r, n, sd)
	for i := range v {
		v[i] *= v[i]
	}
	return v
}

// optimSGDCases: each rule, with and without L2 decay.
func optimSGDCases() []kcase {
	var cs []kcase
	for _, n := range optimSizes() {
		for _, rule := range []device.SGDRule{device.SGDPlain, device.SGDMomentum, device.SGDNesterov} {
			for _, wd := range []float32{0, 1e-2} {
				shape := fmt.Sprintf("n%d_rule%d_wd%g", n, rule, wd)
				r := rng("optim_sgd " + shape)
				p, g, b := normals(r, n, 1), optimGrads(r, n), normals(r, n, 0.1)
				bufs := []*buffer{{name: "p", data: p, tol: filled(n, 0)}, {name: "g", data: g}, {name: "b", data: b, tol: filled(n, 0)}}
				if rule == device.SGDPlain {
					bufs[2].tol = filled(n, -1) // not read, not written
				}
				cs = append(cs, kcase{
					kernel: "optim_sgd", shape: shape, bufs: bufs,
					launch: func(d device.Device, v []device.Buffer) error {
						return device.OptimSGD(d, n, rule, wd, 0.05, 0.9, v[0], v[1], v[2])
					},
				})
			}
		}
	}
	return cs
}

// optimAdamCases: Adam's scalars at step 3 (lr 1e-3, defaults), with L2
// decay, AdamW's decoupled decay, and neither.
func optimAdamCases() []kcase {
	var cs []kcase
	const lr, b1, b2, t = 1e-3, 0.9, 0.999, 3
	base := device.AdamCoeffs{Decay: 1, B1: b1, C1: 1 - b1, B2: b2, C2: 1 - b2,
		InvBC2: float32(1 / math.Sqrt(1-math.Pow(b2, t))), Eps: 1e-8, StepSize: float32(lr / (1 - math.Pow(b1, t)))}
	for _, n := range optimSizes() {
		for _, mode := range []string{"nodecay", "l2", "adamw"} {
			k := base
			switch mode {
			case "l2":
				k.WD = 1e-2
			case "adamw":
				k.Decay = float32(1 - lr*1e-2)
			}
			shape := fmt.Sprintf("n%d_%s", n, mode)
			r := rng("optim_adam " + shape)
			p, g, m, v := normals(r, n, 1), optimGrads(r, n), normals(r, n, 0.1), squares(r, n, 0.1)
			cs = append(cs, kcase{
				kernel: "optim_adam", shape: shape,
				bufs: []*buffer{{name: "p", data: p, tol: filled(n, 0)}, {name: "g", data: g},
					{name: "m", data: m, tol: filled(n, 0)}, {name: "v", data: v, tol: filled(n, 0)}},
				launch: func(d device.Device, b []device.Buffer) error {
					return device.OptimAdam(d, n, k, b[0], b[1], b[2], b[3])
				},
			})
		}
	}
	return cs
}

// optimAdagradCases: with and without L2 decay.
func optimAdagradCases() []kcase {
	var cs []kcase
	for _, n := range optimSizes() {
		for _, wd := range []float32{0, 1e-3} {
			shape := fmt.Sprintf("n%d_wd%g", n, wd)
			r := rng("optim_adagrad " + shape)
			p, g, s := normals(r, n, 1), optimGrads(r, n), squares(r, n, 1)
			cs = append(cs, kcase{
				kernel: "optim_adagrad", shape: shape,
				bufs: []*buffer{{name: "p", data: p, tol: filled(n, 0)}, {name: "g", data: g}, {name: "s", data: s, tol: filled(n, 0)}},
				launch: func(d device.Device, b []device.Buffer) error {
					return device.OptimAdagrad(d, n, wd, 0.01, 1e-10, b[0], b[1], b[2])
				},
			})
		}
	}
	return cs
}

// optimRMSpropCases: with and without L2 decay (alpha 0.99).
func optimRMSpropCases() []kcase {
	var cs []kcase
	for _, n := range optimSizes() {
		for _, wd := range []float32{0, 1e-3} {
			shape := fmt.Sprintf("n%d_wd%g", n, wd)
			r := rng("optim_rmsprop " + shape)
			p, g, a := normals(r, n, 1), optimGrads(r, n), squares(r, n, 0.3)
			cs = append(cs, kcase{
				kernel: "optim_rmsprop", shape: shape,
				bufs: []*buffer{{name: "p", data: p, tol: filled(n, 0)}, {name: "g", data: g}, {name: "a", data: a, tol: filled(n, 0)}},
				launch: func(d device.Device, b []device.Buffer) error {
					return device.OptimRMSprop(d, n, wd, 0.01, 1e-8, 0.99, float32(1-0.99), b[0], b[1], b[2])
				},
			})
		}
	}
	return cs
}
