package optim

import "math"

// adam is torch.optim.Adam (l2 > 0: L2 weight decay) and torch.optim.AdamW
// (decoupledWD > 0), amsgrad off.
type adam struct {
	base
	b1, b2, eps     float64
	l2, decoupledWD float64
	m, v            []float32
}

func (o *adam) Step(params, grads []float32, lr float32) {
	o.begin(params, grads)
	t := float64(o.steps)
	lr64 := float64(lr)
	stepSize := lr64 / (1 - math.Pow(o.b1, t))
	bc2Sqrt := math.Sqrt(1 - math.Pow(o.b2, t))
	decay := 1 - lr64*o.decoupledWD
	p, g, m, v := params[:o.n], grads[:o.n], o.m[:o.n], o.v[:o.n]
	for i := range p {
		pi := float64(p[i])
		gi := float64(g[i]) + o.l2*pi
		pi *= decay
		mi := o.b1*float64(m[i]) + (1-o.b1)*gi
		vi := o.b2*float64(v[i]) + (1-o.b2)*gi*gi
		m[i], v[i] = float32(mi), float32(vi)
		p[i] = float32(pi - stepSize*mi/(math.Sqrt(vi)/bc2Sqrt+o.eps))
	}
}

func (o *adam) State() []State {
	return []State{{Name: "m", Data: o.m}, {Name: "v", Data: o.v}}
}
