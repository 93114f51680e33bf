package optim

import "math"

// adam is torch.optim.Adam (l2 > 0: L2 weight decay) and torch.optim.AdamW
// (decoupledWD > 0), amsgrad off.
type adam struct {
	base
	b1, b2, eps     float64
	l2, decoupledWD float64
	m, v            []float32
}

func (o *adam) Step(params, grads []float32, lr float32) {
	o.begin(params, grads)
	k := o.coeffsAt(lr, o.steps)
	nd := noDecay(k)
	for _, sg := range o.segments() {
		kk := &k
		if !sg.decay {
			kk = &nd
		}
		adamUpdate(params[sg.lo:sg.hi], grads[sg.lo:sg.hi], o.m[sg.lo:sg.hi], o.v[sg.lo:sg.hi], kk)
	}
}

// coeffsAt computes the scalars of step t (1-based: Step calls it after
// begin with o.steps) in float64 and rounds each to float32 once.
func (o *adam) coeffsAt(lr float32, t64 int64) adamCoeffs {
	t := float64(t64)
	lr64 := float64(lr)
	return adamCoeffs{
		l2:       float32(o.l2),
		decay:    float32(1 - lr64*o.decoupledWD),
		b1:       float32(o.b1),
		c1:       float32(1 - o.b1),
		b2:       float32(o.b2),
		c2:       float32(1 - o.b2),
		invBC2:   float32(1 / math.Sqrt(1-math.Pow(o.b2, t))),
		eps:      float32(o.eps),
		stepSize: float32(lr64 / (1 - math.Pow(o.b1, t))),
	}
}

// noDecay is step k without weight decay.
func noDecay(k adamCoeffs) adamCoeffs {
	k.l2, k.decay = 0, 1
	return k
}

func (o *adam) State() []State {
	return []State{{Name: "m", Data: o.m}, {Name: "v", Data: o.v}}
}
