package optim

import "math"

// This file holds the element loops of every optimizer in portable Go. On
// amd64 the assembly in kernels_amd64.s runs the same operations four
// elements at a time and these loops finish the last len%4 elements; on
// other architectures they do all the work. Every product is converted to
// float32 explicitly: the Go specification lets a compiler fuse x*y+z into
// one rounding unless the product is converted, and the assembly (and
// the sharding contract) needs each operation rounded on its own.

// adamCoeffs are the per-step scalars of an Adam update, computed in
// float64 once per step and rounded to float32. The assembly reads the
// fields by offset: keep the order (9 float32s, 4 bytes apart).
type adamCoeffs struct {
	l2       float32 // L2 weight decay added to the gradient (adam)
	decay    float32 // 1 - lr*WeightDecay (adamw), else 1
	b1, c1   float32 // Beta1, 1-Beta1
	b2, c2   float32 // Beta2, 1-Beta2
	invBC2   float32 // 1/sqrt(1-Beta2^t)
	eps      float32
	stepSize float32 // lr/(1-Beta1^t)
}

// adamGo is one Adam step over p, g, m, v (equal lengths):
//
//	g' = g + l2*p;  p' = p*decay
//	m' = b1*m + c1*g';  v' = b2*v + (g'*g')*c2
//	p'' = p' - stepSize*(m' / (sqrt(v')*invBC2 + eps))
func adamGo(p, g, m, v []float32, k *adamCoeffs) {
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	l2, decay, b1, c1, b2, c2 := k.l2, k.decay, k.b1, k.c1, k.b2, k.c2
	invBC2, eps, stepSize := k.invBC2, k.eps, k.stepSize
	for i, pi := range p {
		gi := g[i] + float32(l2*pi)
		pi = float32(pi * decay)
		mi := float32(b1*m[i]) + float32(c1*gi)
		vi := float32(b2*v[i]) + float32(float32(gi*gi)*c2)
		m[i], v[i] = mi, vi
		d := float32(sqrt32(vi)*invBC2) + eps
		p[i] = pi - float32(stepSize*float32(mi/d))
	}
}

// rootCoeffs are the per-step scalars of Adagrad and RMSprop (the assembly
// reads them by offset: keep the order). alpha and c are RMSprop's Alpha
// and 1-Alpha.
type rootCoeffs struct {
	wd, lr, eps, alpha, c float32
}

// adagradGo is one Adagrad step over p, g, s (equal lengths):
//
//	g' = g + wd*p;  s' = s + g'*g';  p' = p - (lr*g') / (sqrt(s') + eps)
func adagradGo(p, g, s []float32, k *rootCoeffs) {
	g, s = g[:len(p)], s[:len(p)]
	wd, lr, eps := k.wd, k.lr, k.eps
	for i, pi := range p {
		gi := g[i] + float32(wd*pi)
		si := s[i] + float32(gi*gi)
		s[i] = si
		p[i] = pi - float32(float32(lr*gi)/(sqrt32(si)+eps))
	}
}

// rmspropGo is one RMSprop step over p, g, a (equal lengths):
//
//	g' = g + wd*p;  a' = alpha*a + c*(g'*g');  p' = p - (lr*g') / (sqrt(a') + eps)
func rmspropGo(p, g, a []float32, k *rootCoeffs) {
	g, a = g[:len(p)], a[:len(p)]
	wd, lr, eps, alpha, c := k.wd, k.lr, k.eps, k.alpha, k.c
	for i, pi := range p {
		gi := g[i] + float32(wd*pi)
		ai := float32(alpha*a[i]) + float32(c*float32(gi*gi))
		a[i] = ai
		p[i] = pi - float32(float32(lr*gi)/(sqrt32(ai)+eps))
	}
}

// sgdCoeffs are SGD's per-step scalars (the assembly reads them by
// offset: keep the order).
type sgdCoeffs struct {
	wd, lr, mu float32
}

// sgdGo is one plain SGD step: g' = g + wd*p;  p' = p - lr*g'.
func sgdGo(p, g []float32, k *sgdCoeffs) {
	g = g[:len(p)]
	wd, lr := k.wd, k.lr
	for i, pi := range p {
		gi := g[i] + float32(wd*pi)
		p[i] = pi - float32(lr*gi)
	}
}

// momentumGo is one SGD step with momentum (dampening 0):
//
//	g' = g + wd*p;  b' = mu*b + g';  p' = p - lr*b'
func momentumGo(p, g, b []float32, k *sgdCoeffs) {
	g, b = g[:len(p)], b[:len(p)]
	wd, lr, mu := k.wd, k.lr, k.mu
	for i, pi := range p {
		gi := g[i] + float32(wd*pi)
		bi := float32(mu*b[i]) + gi
		b[i] = bi
		p[i] = pi - float32(lr*bi)
	}
}

// nesterovGo is one SGD step with Nesterov momentum (dampening 0):
//
//	g' = g + wd*p;  b' = mu*b + g';  p' = p - lr*(g' + mu*b')
func nesterovGo(p, g, b []float32, k *sgdCoeffs) {
	g, b = g[:len(p)], b[:len(p)]
	wd, lr, mu := k.wd, k.lr, k.mu
	for i, pi := range p {
		gi := g[i] + float32(wd*pi)
		bi := float32(mu*b[i]) + gi
		b[i] = bi
		p[i] = pi - float32(lr*(gi+float32(mu*bi)))
	}
}

// sqrt32 is the correctly rounded float32 square root: the compiler turns
// this pattern into one single-precision instruction (SQRTSS on amd64), and
// rounding the float64 root of a float32 to float32 is exact anyway
// (53 >= 2*24+2 bits).
func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }
