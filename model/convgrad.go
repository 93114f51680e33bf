package model

import "gorgonia.org/tensor"

// gradShape is the layout of the activation gradient dact: CHWN like act,
// with a zero border of q = k-1 around every plane, which the input
// gradient reads as the outputs beyond the edge (see convXGradOp). Only
// the pooling windows inside the border of the first o planes are ever
// written, and the lanes of the samples from n on are always 0 there (the
// pooled gradient is 0 in them); the rest stays 0.
func (o *convOp) gradShape() tensor.Shape {
	return tensor.Shape{o.mo, o.oh + 2*o.q, o.ow + 2*o.q, o.np}
}

// convActGradOp routes the pooled gradient g to each window's first
// maximum where ReLU let the pooled value through (out > 0), and zero to
// the window's other positions. A block whose output is (n, o, ph, pw)
// reads the pooled values it kept in CHWN and transposes g into gt.
type convActGradOp struct {
	opBase
	fwd *convOp
	gt  []float32 // (o, ph, pw, np); lanes from n on stay 0
}

func newConvActGradOp(fwd *convOp) *convActGradOp {
	op := &convActGradOp{fwd: fwd}
	if !fwd.chwnOut {
		op.gt = make([]float32, len(fwd.pooled))
	}
	return op
}

func (op *convActGradOp) run(_ *runCtx, d []float32, in [][]float32, _ bool) {
	o, out, g := op.fwd, in[0], in[1]
	if !o.chwnOut {
		toCHWN(op.gt, g, o.n, o.o, o.ph*o.pw, o.np)
		out, g = o.pooled, op.gt
	}
	np, owq, ohq := o.np, o.ow+2*o.q, o.oh+2*o.q
	plane, row, prow := o.oh*o.ow*np, o.ow*np, o.pw*np
	for oc := range o.o {
		for py := range o.ph {
			a0 := o.act[oc*plane+2*py*row:]
			d0 := d[((oc*ohq+2*py+o.q)*owq+o.q)*np:]
			j := (oc*o.ph + py) * prow
			poolBwd(a0, a0[row:], o.pw, np, out[j:], g[j:], d0, d0[owq*np:])
		}
	}
}

// convWGradOp is dw[oc][t] = Σ over rows, columns and samples of
// dact[oc] · the input under tap t: dot3x3 over three channels and three
// taps at a time (a tail block repeats tap 0 and drops its sums; the
// channels past o are dact's zero planes).
type convWGradOp struct {
	opBase
	fwd *convOp
}

func (op *convWGradOp) run(c *runCtx, dw []float32, in [][]float32, acc bool) {
	o, dact := op.fwd, in[0]
	np, owq, ohq := o.np, o.ow+2*o.q, o.oh+2*o.q
	var sums [9]float32
	for m := 0; m < o.o; m += 3 {
		var aoff, boff [3]int
		for i := range aoff {
			aoff[i] = ((m+i)*ohq+o.q)*owq*np + o.q*np
		}
		for t := 0; t < o.ckk; t += 3 {
			for j := range boff {
				boff[j] = o.offs[0]
				if t+j < o.ckk {
					boff[j] = o.offs[t+j]
				}
			}
			dot3x3(dact, &aoff, o.xin, &boff, o.oh, o.ow*np, owq*np, o.wp*np, &sums)
			for i := range min(3, o.o-m) {
				for j := range min(3, o.ckk-t) {
					at := (m+i)*o.ckk + t + j
					if acc {
						dw[at] += sums[i*3+j]
					} else {
						dw[at] = sums[i*3+j]
					}
				}
			}
		}
	}
	c.gradsReady(o.wOff, o.wOff+o.o*o.ckk)
}

// convBiasGradOp is db[oc] = the sum of dact's plane oc: dot3x3 of three
// planes at a time against a row of ones (the same row three times).
type convBiasGradOp struct {
	opBase
	fwd  *convOp
	ones []float32
}

func newConvBiasGradOp(fwd *convOp) *convBiasGradOp {
	op := &convBiasGradOp{fwd: fwd, ones: make([]float32, fwd.ow*fwd.np)}
	for i := range op.ones {
		op.ones[i] = 1
	}
	return op
}

func (op *convBiasGradOp) run(c *runCtx, db []float32, in [][]float32, acc bool) {
	o, dact := op.fwd, in[0]
	np, owq, ohq := o.np, o.ow+2*o.q, o.oh+2*o.q
	var sums [9]float32
	for m := 0; m < o.o; m += 3 {
		var aoff [3]int
		for i := range aoff {
			aoff[i] = ((m+i)*ohq+o.q)*owq*np + o.q*np
		}
		dot3x3(dact, &aoff, op.ones, &[3]int{}, o.oh, o.ow*np, owq*np, 0, &sums)
		for i := range min(3, o.o-m) {
			if acc {
				db[m+i] += sums[i*3]
			} else {
				db[m+i] = sums[i*3]
			}
		}
	}
	c.gradsReady(o.bOff, o.bOff+o.o)
}

// convXGradOp is dx: the convolution of the zero-bordered dact with the
// flipped filters, dx[ci][y][x] = Σ over oc, ky, kx of
// w[oc][ci][ky][kx] · dact[oc][y+pad-ky][x+pad-kx], one shiftGemm per six
// input channels and input row (the border supplies the zero outputs
// beyond the edge). It writes dx directly when dx is CHWN and c a
// multiple of 6, else into dxin and copies.
type convXGradOp struct {
	opBase
	fwd          *convOp
	mc           int       // c rounded up to 6
	apack        []float32 // (mc/6, o·k·k, 6)
	offs         []int     // tap (oc, ky, kx)'s offset in dact
	offLo, offHi int
	dxin         []float32 // (mc, h, w, np); nil when written directly
}

func newConvXGradOp(fwd *convOp) *convXGradOp {
	op := &convXGradOp{fwd: fwd, mc: roundUp(fwd.c, 6)}
	k, np, owq, ohq := fwd.k, fwd.np, fwd.ow+2*fwd.q, fwd.oh+2*fwd.q
	op.apack = make([]float32, op.mc*fwd.o*k*k)
	if !fwd.chwnIn || op.mc != fwd.c {
		op.dxin = make([]float32, op.mc*fwd.h*fwd.w*np)
	}
	for oc := range fwd.o {
		for ky := range k {
			for kx := range k {
				off := ((oc*ohq-ky)*owq - kx) * np
				op.offs = append(op.offs, off)
				op.offLo, op.offHi = min(op.offLo, off), max(op.offHi, off)
			}
		}
	}
	return op
}

func (op *convXGradOp) run(_ *runCtx, dx []float32, in [][]float32, _ bool) {
	o, dact, w := op.fwd, in[0], in[1]
	k, np, owq := o.k, o.np, o.ow+2*o.q
	taps := o.o * k * k
	clear(op.apack)
	for oc := range o.o {
		for ci := range o.c {
			blk := op.apack[ci/6*taps*6:]
			for kk := range k * k {
				blk[(oc*k*k+kk)*6+ci%6] = w[(oc*o.c+ci)*k*k+kk]
			}
		}
	}
	dst := op.dxin
	if dst == nil {
		dst = dx
	}
	plane, row := o.h*o.w*np, o.w*np
	for y := range o.h {
		base := ((y+o.pad+o.q)*owq + o.pad + o.q) * np
		for m := 0; m < op.mc; m += 6 {
			shiftGemm(op.apack[m*taps:], dact, base, op.offs, op.offLo, op.offHi, row/16, dst, m*plane+y*row, plane)
		}
	}
	switch {
	case op.dxin == nil:
	case o.chwnIn:
		copy(dx, op.dxin)
	default:
		fromCHWN(dx, op.dxin, o.n, o.c, o.h*o.w, np)
	}
}
