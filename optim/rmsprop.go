package optim

// rmsprop is torch.optim.RMSprop with centered=False and momentum 0.
type rmsprop struct {
	base
	alpha, eps, wd float64
	sq             []float32
}

func (o *rmsprop) Step(params, grads []float32, lr float32) {
	o.begin(params, grads)
	k := rootCoeffs{wd: float32(o.wd), lr: lr, eps: float32(o.eps), alpha: float32(o.alpha), c: float32(1 - o.alpha)}
	rmspropUpdate(params, grads, o.sq[:o.n], &k)
}

func (o *rmsprop) State() []State {
	return []State{{Name: "sq_avg", Data: o.sq}}
}
