package model

import (
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// convOp is one LeNet block, fused: maxpool2x2(ReLU(conv(x, w, pad) + b))
// for x (n, c, h, w), w (o, c, k, k), b (o), stride 1, pooled output (n,
// o, ph, pw). Inside, it works in the CHWN layout of convkern.go: the
// input is copied into a zero-bordered (c, h+2pad, w+2pad, np) buffer,
// and the convolution of a whole output row of every sample is one
// shiftGemm per six output channels. Between two blocks the tensors stay
// CHWN (chwnIn, chwnOut: (c, h, w, np), gradients included), so only the
// network's input and the last block's output are transposed. It keeps
// what its backward needs: the padded input, the activations before bias
// and ReLU, the pooled output in CHWN.
type convOp struct {
	opBase
	b               *builder
	n, c, h, w      int
	o, k, pad       int
	oh, ow, ph, pw  int
	wOff, bOff      int
	chwnIn, chwnOut bool
	ckk             int       // c·k·k: the taps of one output channel
	np              int       // n rounded up to convLanes
	hp, wp          int       // the padded input's size
	mo              int       // o rounded up to 6: the rows shiftGemm writes
	q               int       // k-1: the zero border of the activation gradient (gradShape)
	xin             []float32 // (c, hp, wp, np); the input itself when it is CHWN without padding
	act             []float32 // (mo, oh, ow, np)
	pooled          []float32 // (o, ph, pw, np); the output itself when chwnOut
	apack           []float32 // (mo/6, ckk, 6): w packed for shiftGemm
	offs            []int     // ckk: tap (ci, ky, kx)'s offset in xin
	offLo, offHi    int
}

func newConvOp(b *builder, n, c, h, w, o, k, pad, wOff, bOff int, chwnIn, chwnOut bool) *convOp {
	op := &convOp{b: b, n: n, c: c, h: h, w: w, o: o, k: k, pad: pad, wOff: wOff, bOff: bOff, chwnIn: chwnIn, chwnOut: chwnOut}
	op.oh, op.ow = h+2*pad-k+1, w+2*pad-k+1
	op.ph, op.pw = op.oh/cnnPool, op.ow/cnnPool
	op.ckk = c * k * k
	op.np = roundUp(n, convLanes)
	op.hp, op.wp = h+2*pad, w+2*pad
	op.mo = roundUp(o, 6)
	op.q = k - 1
	if !chwnIn || pad > 0 {
		op.xin = make([]float32, c*op.hp*op.wp*op.np)
	}
	op.act = make([]float32, op.mo*op.oh*op.ow*op.np)
	if !chwnOut {
		op.pooled = make([]float32, o*op.ph*op.pw*op.np)
	}
	op.apack = make([]float32, op.mo*op.ckk)
	op.offs = make([]int, 0, op.ckk)
	for ci := range c {
		for ky := range k {
			for kx := range k {
				op.offs = append(op.offs, ((ci*op.hp+ky)*op.wp+kx)*op.np)
			}
		}
	}
	op.offLo, op.offHi = 0, op.offs[len(op.offs)-1]
	return op
}

func roundUp(n, m int) int { return (n + m - 1) / m * m }

// inShape is the shape of the input x, outShape that of the output.
func (o *convOp) inShape() tensor.Shape {
	if o.chwnIn {
		return tensor.Shape{o.c, o.h, o.w, o.np}
	}
	return tensor.Shape{o.n, o.c, o.h, o.w}
}

func (o *convOp) outShape() tensor.Shape {
	if o.chwnOut {
		return tensor.Shape{o.o, o.ph, o.pw, o.np}
	}
	return tensor.Shape{o.n, o.o, o.ph, o.pw}
}

func (o *convOp) run(c *runCtx, out []float32, in [][]float32, _ bool) {
	x, w, b := in[0], in[1], in[2]
	c.waitParams(o.wOff, o.wOff+o.o*o.ckk)
	c.waitParams(o.bOff, o.bOff+o.o)
	o.loadInput(x)
	packRows(o.apack, w, o.o, o.ckk)
	plane, row := o.oh*o.ow*o.np, o.ow*o.np
	for y := range o.oh {
		for m := 0; m < o.mo; m += 6 {
			shiftGemm(o.apack[m*o.ckk:], o.xin, y*o.wp*o.np, o.offs, o.offLo, o.offHi, row/16, o.act, m*plane+y*row, plane)
		}
	}
	// max(ReLU(a + bias)) = ReLU(max(a) + bias): pool the raw
	// convolution, then add the bias and rectify the pooled values.
	pooled := o.pooled
	if o.chwnOut {
		pooled = out
	}
	prow := o.pw * o.np
	for oc := range o.o {
		for py := range o.ph {
			a0 := o.act[oc*plane+2*py*row:]
			poolFwd(a0, a0[row:], o.pw, o.np, b[oc], pooled[(oc*o.ph+py)*prow:])
		}
	}
	if !o.chwnOut {
		fromCHWN(out, pooled, o.n, o.o, o.ph*o.pw, o.np)
	}
}

// packRows packs the rows×cols matrix w, six rows at a time, column by
// column: dst[(r/6)·cols·6 + t·6 + r%6] = w[r·cols + t], zero past rows.
func packRows(dst, w []float32, rows, cols int) {
	clear(dst)
	for r := range rows {
		blk := dst[r/6*cols*6:]
		for t, v := range w[r*cols : (r+1)*cols] {
			blk[t*6+r%6] = v
		}
	}
}

// loadInput puts x into the interior of xin (or makes xin x itself).
func (o *convOp) loadInput(x []float32) {
	switch {
	case o.chwnIn && o.pad == 0:
		o.xin = x
	case o.chwnIn:
		for ci := range o.c {
			for y := range o.h {
				copy(o.xin[((ci*o.hp+y+o.pad)*o.wp+o.pad)*o.np:][:o.w*o.np], x[(ci*o.h+y)*o.w*o.np:][:o.w*o.np])
			}
		}
	default:
		for i := range o.n {
			for ci := range o.c {
				src := x[(i*o.c+ci)*o.h*o.w:]
				for y := range o.h {
					d := o.xin[((ci*o.hp+y+o.pad)*o.wp+o.pad)*o.np+i:]
					for xx, v := range src[y*o.w : (y+1)*o.w] {
						d[xx*o.np] = v
					}
				}
			}
		}
	}
}

// toCHWN and fromCHWN convert between (n, c, plane) and (c, plane, np);
// toCHWN leaves the lanes from n on as they are (zero in the callers'
// buffers).
func toCHWN(dst, src []float32, n, c, plane, np int) {
	for i := range n {
		for p, v := range src[i*c*plane : (i+1)*c*plane] {
			dst[p*np+i] = v
		}
	}
}

func fromCHWN(dst, src []float32, n, c, plane, np int) {
	for i := range n {
		d := dst[i*c*plane : (i+1)*c*plane]
		for p := range d {
			d[p] = src[p*np+i]
		}
	}
}

func (o *convOp) DiffWRT(int) []bool { return []bool{true, true, true} }

// SymDiff builds dact (the gradient before ReLU, routed through the
// pooling), then dw, db and dx from it.
func (o *convOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	x := inputs[0]
	dact, err := o.b.apply(newConvActGradOp(o), o.name+".act'", o.gradShape(), output, grad)
	if err != nil {
		return nil, err
	}
	dw, err := o.b.apply(&convWGradOp{fwd: o}, o.name+".dW", tensor.Shape{o.o, o.c, o.k, o.k}, dact)
	if err != nil {
		return nil, err
	}
	db, err := o.b.apply(newConvBiasGradOp(o), o.name+".db", tensor.Shape{o.o}, dact)
	if err != nil {
		return nil, err
	}
	dx, err := o.b.apply(newConvXGradOp(o), o.name+".dx", x.Shape(), dact, inputs[1])
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx, dw, db}, nil
}
