package device

import "math"

// The Go twins of kernels/optim.ptx: thread i updates element i with the
// PTX's operations in its order, each rounded to float32 (every product
// is converted explicitly: Go may otherwise fuse x*y+z into one rounding,
// which the PTX's .rn operations never do).

// sqrtf is sqrt.rn.f32: the float64 root of a float32, rounded once, is
// the correctly rounded float32 root.
func sqrtf(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// emuOptimSGD is optim_sgd's twin.
func emuOptimSGD(l *Launch) error {
	n, rule := l.Int(0), SGDRule(l.Int(1))
	wd, lr, mu := l.Float(2), l.Float(3), l.Float(4)
	if n < 1 {
		return nil
	}
	p, g := l.F32s(5, n), l.F32s(6, n)
	var b []float32
	if rule != SGDPlain {
		b = l.F32s(7, n)
	}
	emuEach(l, n, func(i int) {
		gi := g[i] + float32(wd*p[i])
		u := gi
		if rule != SGDPlain {
			bi := float32(mu*b[i]) + gi
			b[i] = bi
			u = bi
			if rule == SGDNesterov {
				u = gi + float32(mu*bi)
			}
		}
		p[i] -= float32(lr * u)
	})
	return nil
}

// emuOptimAdam is optim_adam's twin.
func emuOptimAdam(l *Launch) error {
	n := l.Int(0)
	k := AdamCoeffs{WD: l.Float(1), Decay: l.Float(2), B1: l.Float(3), C1: l.Float(4), B2: l.Float(5), C2: l.Float(6),
		InvBC2: l.Float(7), Eps: l.Float(8), StepSize: l.Float(9)}
	if n < 1 {
		return nil
	}
	p, g, m, v := l.F32s(10, n), l.F32s(11, n), l.F32s(12, n), l.F32s(13, n)
	emuEach(l, n, func(i int) {
		gi := g[i] + float32(k.WD*p[i])
		pi := float32(p[i] * k.Decay)
		mi := float32(k.B1*m[i]) + float32(k.C1*gi)
		vi := float32(k.B2*v[i]) + float32(float32(gi*gi)*k.C2)
		m[i], v[i] = mi, vi
		d := float32(sqrtf(vi)*k.InvBC2) + k.Eps
		p[i] = pi - float32(k.StepSize*float32(mi/d))
	})
	return nil
}

// emuOptimAdagrad is optim_adagrad's twin.
func emuOptimAdagrad(l *Launch) error {
	n, wd, lr, eps := l.Int(0), l.Float(1), l.Float(2), l.Float(3)
	if n < 1 {
		return nil
	}
	p, g, s := l.F32s(4, n), l.F32s(5, n), l.F32s(6, n)
	emuEach(l, n, func(i int) {
		gi := g[i] + float32(wd*p[i])
		si := s[i] + float32(gi*gi)
		s[i] = si
		p[i] -= float32(lr*gi) / (sqrtf(si) + eps)
	})
	return nil
}

// emuOptimRMSprop is optim_rmsprop's twin.
func emuOptimRMSprop(l *Launch) error {
	n, wd, lr, eps, alpha, c := l.Int(0), l.Float(1), l.Float(2), l.Float(3), l.Float(4), l.Float(5)
	if n < 1 {
		return nil
	}
	p, g, a := l.F32s(6, n), l.F32s(7, n), l.F32s(8, n)
	emuEach(l, n, func(i int) {
		gi := g[i] + float32(wd*p[i])
		ai := float32(alpha*a[i]) + float32(c*float32(gi*gi))
		a[i] = ai
		p[i] -= float32(lr*gi) / (sqrtf(ai) + eps)
	})
	return nil
}
