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
		k := rootCoeffs{wd: float32(o.wd), lr: lr, eps: float32(o.eps)}
		if !sg.decay {
			k.wd = 0
		}
		adagradUpdate(params[sg.lo:sg.hi], grads[sg.lo:sg.hi], o.sum[sg.lo:sg.hi], &k)
	}
}

func (o *adagrad) State() []State {
	return []State{{Name: "sum_sq", Data: o.sum}}
}
