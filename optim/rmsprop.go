package optim

// rmsprop is torch.optim.RMSprop with centered=False and momentum 0.
type rmsprop struct {
	base
	alpha, eps, wd float64
	sq             []float32
}

func (o *rmsprop) Step(params, grads []float32, lr float32) {
	o.begin(params, grads)
	for _, sg := range o.segments() {
		k := o.coeffs(lr, sg.decay)
		rmspropUpdate(params[sg.lo:sg.hi], grads[sg.lo:sg.hi], o.sq[sg.lo:sg.hi], &k)
	}
}

// coeffs are a step's scalars over a run with or without weight decay.
func (o *rmsprop) coeffs(lr float32, decay bool) rootCoeffs {
	k := rootCoeffs{wd: float32(o.wd), lr: lr, eps: float32(o.eps), alpha: float32(o.alpha), c: float32(1 - o.alpha)}
	if !decay {
		k.wd = 0
	}
	return k
}

func (o *rmsprop) State() []State {
	return []State{{Name: "sq_avg", Data: o.sq}}
}
