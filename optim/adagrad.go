package optim

import "math"

// adagrad is torch.optim.Adagrad with lr_decay 0 and
// initial_accumulator_value 0.
type adagrad struct {
	base
	eps, wd float64
	sum     []float32
}

func (o *adagrad) Step(params, grads []float32, lr float32) {
	o.begin(params, grads)
	lr64 := float64(lr)
	p, g, s := params[:o.n], grads[:o.n], o.sum[:o.n]
	for i := range p {
		pi := float64(p[i])
		gi := float64(g[i]) + o.wd*pi
		si := float64(s[i]) + gi*gi
		s[i] = float32(si)
		p[i] = float32(pi - lr64*gi/(math.Sqrt(si)+o.eps))
	}
}

func (o *adagrad) State() []State {
	return []State{{Name: "sum_sq", Data: o.sum}}
}
