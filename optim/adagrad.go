package optim

// adagrad is torch.optim.Adagrad with lr_decay 0 and
// initial_accumulator_value 0.
type adagrad struct {
	base
	eps, wd float64
	sum     []float32
}

func (o *adagrad) Step(params, grads []float32, lr float32) {
	o.begin(params, grads)
	for _, sg := range o.segments() {
		k := o.coeffs(lr, sg.decay)
		adagradUpdate(params[sg.lo:sg.hi], grads[sg.lo:sg.hi], o.sum[sg.lo:sg.hi], &k)
	}
}

// coeffs are a step's scalars over a run with or without weight decay.
func (o *adagrad) coeffs(lr float32, decay bool) rootCoeffs {
	k := rootCoeffs{wd: float32(o.wd), lr: lr, eps: float32(o.eps)}
	if !decay {
		k.wd = 0
	}
	return k
}

func (o *adagrad) State() []State {
	return []State{{Name: "sum_sq", Data: o.sum}}
}
