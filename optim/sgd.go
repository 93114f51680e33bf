package optim

// sgd is torch.optim.SGD with dampening 0: optional momentum, Nesterov and
// L2 weight decay.
type sgd struct {
	base
	mu, wd   float64
	nesterov bool
	buf      []float32 // momentum buffer; nil for plain SGD
}

// Step runs one of three loops (kernels.go), chosen per optimizer, never
// per element or position.
func (o *sgd) Step(params, grads []float32, lr float32) {
	o.begin(params, grads)
	k := sgdCoeffs{wd: float32(o.wd), lr: lr, mu: float32(o.mu)}
	switch {
	case o.buf == nil:
		sgdUpdate(params, grads, &k)
	case o.nesterov:
		nesterovUpdate(params, grads, o.buf[:o.n], &k)
	default:
		momentumUpdate(params, grads, o.buf[:o.n], &k)
	}
}

func (o *sgd) State() []State {
	if o.buf == nil {
		return []State{}
	}
	return []State{{Name: "momentum", Data: o.buf}}
}
