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
	k := rootCoeffs{wd: float32(o.wd), lr: lr, eps: float32(o.eps)}
	adagradUpdate(params, grads, o.sum[:o.n], &k)
}

func (o *adagrad) State() []State {
	return []State{{Name: "sum_sq", Data: o.sum}}
}
