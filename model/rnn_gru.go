package model

// The GRU cell, PyTorch's nn.GRU (gates in the column blocks r, z, n):
//
//	r = σ(x·W_ir + b_ir + h·W_hr + b_hr)
//	z = σ(x·W_iz + b_iz + h·W_hz + b_hz)
//	n = tanh(x·W_in + b_in + r ∘ (h·W_hn + b_hn))
//	h' = (1 - z) ∘ n + z ∘ h

// gruStep runs step s of every sample: l.gates holds x·W_ih of every row
// on entry; the rows of step s become the activated gates, hn the
// recurrent part of n's pre-activation (h·W_hn + b_hn) and out h.
func (l *rnnLayer) gruStep(s int, out, whh, bhn []float32) {
	h, g, t := l.h, l.g, l.t
	if s > 0 {
		l.recur(out[(s-1)*h:], t*h, whh, 0, l.gh, g)
	} else {
		clear(l.gh)
	}
	bhn = bhn[:h]
	for i := range l.n {
		r := i*t + s
		gr := l.gates[r*g : (r+1)*g]
		ghr := l.gh[i*g : (i+1)*g]
		// r and z: adjacent blocks, x·W + h·W + the summed biases.
		rz, hrz := gr[:2*h], ghr[:2*h]
		for j := range rz {
			rz[j] += hrz[j]
		}
		sigmoidAdd(rz, rz, l.bias[:2*h])
		rg, zg, an, hnn := gr[:h], gr[h:2*h], gr[2*h:3*h], ghr[2*h:3*h]
		hn := l.hn[r*h : (r+1)*h]
		for j := range an {
			hv := hnn[j] + bhn[j]
			hn[j] = hv
			an[j] += rg[j] * hv
		}
		tanhAdd(an, an, l.bias[2*h:3*h])
		hp := l.hPrev(out, r, s)[:h]
		ho := out[r*h : (r+1)*h]
		for j := range ho {
			zv := zg[j]
			ho[j] = (1-zv)*an[j] + zv*hp[j]
		}
	}
}

// gruBack is backward through time: from dy (n·t, h), the gradient of
// out, it writes dg: the gradients of the gates' pre-activations on the
// input side (rows 0..n·t) and on the recurrent side (rows n·t..2·n·t:
// the same for r and z, n's times r), step by step from the last; the
// gradient reaching h_s from step s+1 is dh_{s+1} ∘ z + dgh_{s+1}·W_hhᵀ.
func (l *rnnLayer) gruBack(out, dy, whh, dg []float32) {
	h, g, t := l.h, l.g, l.t
	dgx, dgh := dg[:l.n*t*g], l.dgh(dg)
	clear(l.dh)
	for s := t - 1; s >= 0; s-- {
		for i := range l.n {
			r := i*t + s
			gr := l.gates[r*g : (r+1)*g]
			rg, zg, ng := gr[:h], gr[h:2*h], gr[2*h:3*h]
			xr := dgx[r*g : (r+1)*g]
			dxr, dxz, dxn := xr[:h], xr[h:2*h], xr[2*h:3*h]
			hr := dgh[r*g : (r+1)*g]
			dhr, dhz, dhn := hr[:h], hr[h:2*h], hr[2*h:3*h]
			hp := l.hPrev(out, r, s)[:h]
			hn, dyr, dhs := l.hn[r*h:(r+1)*h], dy[r*h:(r+1)*h], l.dh[i*h:(i+1)*h]
			for j := range dhs {
				d := dyr[j] + dhs[j]
				rv, zv, nv := rg[j], zg[j], ng[j]
				dan := d * (1 - zv) * (1 - nv*nv)
				dar := dan * hn[j] * rv * (1 - rv)
				daz := d * (hp[j] - nv) * zv * (1 - zv)
				dxr[j], dxz[j], dxn[j] = dar, daz, dan
				dhr[j], dhz[j], dhn[j] = dar, daz, dan*rv
				dhs[j] = d * zv
			}
		}
		if s > 0 {
			l.recurBack(dgh[s*g:], t*g, whh, 1, l.dh)
		}
	}
}
