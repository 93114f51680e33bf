package optim

import "math"

// f64Ref is the dumb reference for the float32 loops: the package's
// previous Step loops, unchanged except for names. They compute every
// element in float64 from the float32 values and round to float32 only when
// storing, so the one rounding a step adds is the store. TestAgainstFloat64
// bounds how far the float32 arithmetic drifts from them.
type f64Ref struct {
	name                 string
	steps                int64
	mu, wd               float64 // sgd
	nesterov             bool    // sgd
	b1, b2, eps          float64 // adam, adagrad, rmsprop (eps)
	l2, decoupledWD      float64 // adam
	alpha                float64 // rmsprop
	buf, m, v, sum, sqAv []float32
}

func newF64Ref(spec Spec, n int) *f64Ref {
	s := spec.WithDefaults()
	r := &f64Ref{name: s.Name, mu: s.Momentum, wd: s.WeightDecay, nesterov: s.Nesterov,
		b1: s.Beta1, b2: s.Beta2, eps: s.Eps, alpha: s.Alpha}
	switch s.Name {
	case NameSGD:
		if s.Momentum > 0 {
			r.buf = make([]float32, n)
		}
	case NameAdam:
		r.l2, r.m, r.v = s.WeightDecay, make([]float32, n), make([]float32, n)
	case NameAdamW:
		r.decoupledWD, r.m, r.v = s.WeightDecay, make([]float32, n), make([]float32, n)
	case NameAdagrad:
		r.sum = make([]float32, n)
	case NameRMSprop:
		r.sqAv = make([]float32, n)
	}
	return r
}

func (o *f64Ref) step(p, g []float32, lr float32) {
	o.steps++
	lr64 := float64(lr)
	switch o.name {
	case NameSGD:
		if o.buf == nil {
			for i := range p {
				pi := float64(p[i])
				gi := float64(g[i]) + o.wd*pi
				p[i] = float32(pi - lr64*gi)
			}
			return
		}
		b := o.buf
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
	case NameAdam, NameAdamW:
		t := float64(o.steps)
		stepSize := lr64 / (1 - math.Pow(o.b1, t))
		bc2Sqrt := math.Sqrt(1 - math.Pow(o.b2, t))
		decay := 1 - lr64*o.decoupledWD
		m, v := o.m, o.v
		for i := range p {
			pi := float64(p[i])
			gi := float64(g[i]) + o.l2*pi
			pi *= decay
			mi := o.b1*float64(m[i]) + (1-o.b1)*gi
			vi := o.b2*float64(v[i]) + (1-o.b2)*gi*gi
			m[i], v[i] = float32(mi), float32(vi)
			p[i] = float32(pi - stepSize*mi/(math.Sqrt(vi)/bc2Sqrt+o.eps))
		}
	case NameAdagrad:
		s := o.sum
		for i := range p {
			pi := float64(p[i])
			gi := float64(g[i]) + o.wd*pi
			si := float64(s[i]) + gi*gi
			s[i] = float32(si)
			p[i] = float32(pi - lr64*gi/(math.Sqrt(si)+o.eps))
		}
	case NameRMSprop:
		a := o.sqAv
		for i := range p {
			pi := float64(p[i])
			gi := float64(g[i]) + o.wd*pi
			ai := o.alpha*float64(a[i]) + (1-o.alpha)*gi*gi
			a[i] = float32(ai)
			p[i] = float32(pi - lr64*gi/(math.Sqrt(ai)+o.eps))
		}
	default:
		panic("f64Ref: unknown optimizer " + o.name)
	}
}

// state returns the state slices in the order of the Optimizer's State.
func (o *f64Ref) state() [][]float32 {
	switch o.name {
	case NameSGD:
		if o.buf == nil {
			return nil
		}
		return [][]float32{o.buf}
	case NameAdam, NameAdamW:
		return [][]float32{o.m, o.v}
	case NameAdagrad:
		return [][]float32{o.sum}
	case NameRMSprop:
		return [][]float32{o.sqAv}
	}
	return nil
}
