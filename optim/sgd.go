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
	for _, sg := range o.segments() {
		k := o.coeffs(lr, sg.decay)
		p, g := params[sg.lo:sg.hi], grads[sg.lo:sg.hi]
		switch {
		case o.buf == nil:
			sgdUpdate(p, g, &k)
		case o.nesterov:
			nesterovUpdate(p, g, o.buf[sg.lo:sg.hi], &k)
		default:
			momentumUpdate(p, g, o.buf[sg.lo:sg.hi], &k)
		}
	}
}

// coeffs are a step's scalars over a run with or without weight decay.
func (o *sgd) coeffs(lr float32, decay bool) sgdCoeffs {
	k := sgdCoeffs{wd: float32(o.wd), lr: lr, mu: float32(o.mu)}
	if !decay {
		k.wd = 0
	}
	return k
}

func (o *sgd) State() []State {
	if o.buf == nil {
		return []State{}
	}
	return []State{{Name: "momentum", Data: o.buf}}
}
