package model

// The LSTM cell, PyTorch's nn.LSTM (gates in the column blocks i, f, g, o):
//
//	i = σ(x·W_ii + b_ii + h·W_hi + b_hi)
//	f = σ(x·W_if + b_if + h·W_hf + b_hf)
//	g = tanh(x·W_ig + b_ig + h·W_hg + b_hg)
//	o = σ(x·W_io + b_io + h·W_ho + b_ho)
//	c' = f ∘ c + i ∘ g
//	h' = o ∘ tanh(c')

// lstmStep runs step s of every sample: l.gates holds x·W_ih of every row
// on entry; the rows of step s get h_{s-1}·W_hh added and become the
// activated gates, and c, tanh(c) and h (out) of those rows are written.
func (l *rnnLayer) lstmStep(s int, out, whh []float32) {
	h, g, t := l.h, l.g, l.t
	if s > 0 {
		l.recur(out[(s-1)*h:], t*h, whh, 1, l.gates[s*g:], t*g)
	}
	for i := range l.n {
		r := i*t + s
		gr := l.gates[r*g : (r+1)*g]
		// i and f are adjacent blocks, as are their biases.
		sigmoidAdd(gr[:2*h], gr[:2*h], l.bias[:2*h])
		tanhAdd(gr[2*h:3*h], gr[2*h:3*h], l.bias[2*h:3*h])
		sigmoidAdd(gr[3*h:4*h], gr[3*h:4*h], l.bias[3*h:4*h])
		gi, gf, gg, gout := gr[:h], gr[h:2*h], gr[2*h:3*h], gr[3*h:4*h]
		cp := l.zero
		if s > 0 {
			cp = l.c[(r-1)*h : r*h]
		}
		cp = cp[:h]
		cr, tcr, hr := l.c[r*h:(r+1)*h], l.tc[r*h:(r+1)*h], out[r*h:(r+1)*h]
		for j := range cr {
			cr[j] = gf[j]*cp[j] + gi[j]*gg[j]
		}
		tanhAdd(tcr, cr, l.zero)
		for j := range hr {
			hr[j] = gout[j] * tcr[j]
		}
	}
}

// lstmBack is backward through time: from dy (n·t, h), the gradient of
// out, it writes dg (n·t, g), the gradients of the gates'
// pre-activations, step by step from the last; the gradient reaching h_s
// from step s+1 is dg_{s+1}·W_hhᵀ, the one reaching c_s is dc_{s+1} ∘ f.
func (l *rnnLayer) lstmBack(dy, whh, dg []float32) {
	h, g, t := l.h, l.g, l.t
	clear(l.dh)
	clear(l.dc)
	for s := t - 1; s >= 0; s-- {
		for i := range l.n {
			r := i*t + s
			gr := l.gates[r*g : (r+1)*g]
			gi, gf, gg, gout := gr[:h], gr[h:2*h], gr[2*h:3*h], gr[3*h:4*h]
			dr := dg[r*g : (r+1)*g]
			di, df, dgg, do := dr[:h], dr[h:2*h], dr[2*h:3*h], dr[3*h:4*h]
			cp := l.zero
			if s > 0 {
				cp = l.c[(r-1)*h : r*h]
			}
			cp = cp[:h]
			tcr, dyr := l.tc[r*h:(r+1)*h], dy[r*h:(r+1)*h]
			dhr, dcr := l.dh[i*h:(i+1)*h], l.dc[i*h:(i+1)*h]
			for j := range dcr {
				d := dyr[j] + dhr[j]
				iv, fv, gv, ov, tv := gi[j], gf[j], gg[j], gout[j], tcr[j]
				dc := dcr[j] + d*ov*(1-tv*tv)
				di[j] = dc * gv * iv * (1 - iv)
				df[j] = dc * cp[j] * fv * (1 - fv)
				dgg[j] = dc * iv * (1 - gv*gv)
				do[j] = d * tv * ov * (1 - ov)
				dcr[j] = dc * fv
			}
		}
		if s > 0 {
			l.recurBack(dg[s*g:], t*g, whh, 0, l.dh)
		}
	}
}
