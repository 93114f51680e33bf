package optim

import "math"

// rmsprop is torch.optim.RMSprop with centered=False and momentum 0.
type rmsprop struct {
	base
	alpha, eps, wd float64
	sq             []float32
}

func (o *rmsprop) Step(params, grads []float32, lr float32) {
	o.begin(params, grads)
	lr64 := float64(lr)
	p, g, a := params[:o.n], grads[:o.n], o.sq[:o.n]
	for i := range p {
		pi := float64(p[i])
		gi := float64(g[i]) + o.wd*pi
		ai := o.alpha*float64(a[i]) + (1-o.alpha)*gi*gi
		a[i] = float32(ai)
		p[i] = float32(pi - lr64*gi/(math.Sqrt(ai)+o.eps))
	}
}

func (o *rmsprop) State() []State {
	return []State{{Name: "sq_avg", Data: o.sq}}
}
