package optim

// sgd is torch.optim.SGD with dampening 0: optional momentum, Nesterov and
// L2 weight decay.
type sgd struct {
	base
	mu, wd   float64
	nesterov bool
	buf      []float32 // momentum buffer; nil for plain SGD
}

func (o *sgd) Step(params, grads []float32, lr float32) {
	o.begin(params, grads)
	lr64 := float64(lr)
	p, g := params[:o.n], grads[:o.n]
	if o.buf == nil {
		for i := range p {
			pi := float64(p[i])
			gi := float64(g[i]) + o.wd*pi
			p[i] = float32(pi - lr64*gi)
		}
		return
	}
	b := o.buf[:o.n]
	for i := range p {
		pi := float64(p[i])
		gi := float64(g[i]) + o.wd*pi
		bi := o.mu*float64(b[i]) + gi
		b[i] = float32(bi)
		if o.nesterov {
			gi += o.mu * bi
		} else {
			gi = bi
		}
		p[i] = float32(pi - lr64*gi)
	}
}

func (o *sgd) State() []State {
	if o.buf == nil {
		return []State{}
	}
	return []State{{Name: "momentum", Data: o.buf}}
}
