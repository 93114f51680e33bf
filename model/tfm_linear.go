package model

import (
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// linearOp is y = x·W (+ b) for x (n, in), W (in, out), b (out) (or none),
// optionally followed by the exact GELU: the transformer's linear layers.
// Like denseOp, W is consumed in row chunks at bucket boundaries. With
// GELU in a training program it keeps GELU'(z) of every output for the
// backward pass (one multiply there instead of an erf).
type linearOp struct {
	opBase
	b          *builder
	n, in, out int
	wOff, bOff int // flat offsets of W and b (bOff < 0: no bias)
	gelu       bool
	deriv      []float32 // gelu in training: GELU'(z), (n, out)
}

// linear adds x·w (+ bias, when not nil) (→ GELU) for x's n rows: w is
// layout tensor wt, bias bt.
func (fn *fusedNet) linear(name string, x *G.Node, n int, wt Tensor, w *G.Node, bt *Tensor, bias *G.Node, gelu bool) (*G.Node, error) {
	o := &linearOp{b: fn.b, n: n, in: wt.Shape[0], out: wt.Shape[1], wOff: wt.Offset, bOff: -1, gelu: gelu}
	if gelu && fn.train {
		o.deriv = make([]float32, n*o.out)
	}
	if bias == nil {
		return fn.b.apply(o, name, tensor.Shape{n, o.out}, x, w)
	}
	o.bOff = bt.Offset
	return fn.b.apply(o, name, tensor.Shape{n, o.out}, x, w, bias)
}

func (o *linearOp) run(c *runCtx, y []float32, in [][]float32, _ bool) {
	x, w := in[0], in[1]
	linearChunks(c, o.n, o.in, o.out, o.wOff, x, w, y)
	var bias []float32
	if len(in) > 2 {
		c.waitParams(o.bOff, o.bOff+o.out)
		bias = in[2][:o.out]
	}
	if bias != nil {
		for i := range o.n {
			row := y[i*o.out : (i+1)*o.out]
			row = row[:len(bias)]
			for j, v := range row {
				row[j] = v + bias[j]
			}
		}
	}
	if o.gelu {
		geluSlice(y[:o.n*o.out], o.deriv)
	}
}

func (o *linearOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = true
	}
	return d
}

// SymDiff builds dz (through GELU'), then dW = xᵀ·dz, db = Σrows dz and
// dx = dz·Wᵀ with the dense layer's kernels.
func (o *linearOp) SymDiff(inputs G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	x, w := inputs[0], inputs[1]
	dz := grad
	if o.gelu {
		var err error
		if dz, err = o.b.apply(&geluBackOp{fwd: o}, o.name+".gelu'", tensor.Shape{o.n, o.out}, grad); err != nil {
			return nil, err
		}
	}
	dx, err := o.b.apply(&denseXGradOp{n: o.n, in: o.in, out: o.out}, o.name+".dx", x.Shape().Clone(), dz, w)
	if err != nil {
		return nil, err
	}
	dw, err := o.b.apply(&denseWGradOp{n: o.n, in: o.in, out: o.out, wOff: o.wOff}, o.name+".dW", tensor.Shape{o.in, o.out}, x, dz)
	if err != nil {
		return nil, err
	}
	out := G.Nodes{dx, dw}
	if len(inputs) > 2 {
		db, err := o.b.apply(&biasGradOp{n: o.n, out: o.out, bOff: o.bOff}, o.name+".db", tensor.Shape{o.out}, dz)
		if err != nil {
			return nil, err
		}
		out = append(out, db)
	}
	return out, nil
}

// geluBackOp is dz = g·GELU'(z), GELU' kept by the forward kernel.
type geluBackOp struct {
	opBase
	fwd *linearOp
}

func (o *geluBackOp) run(_ *runCtx, dz []float32, in [][]float32, _ bool) {
	g, d := in[0][:len(dz)], o.fwd.deriv[:len(dz)]
	for i, v := range g {
		dz[i] = v * d[i]
	}
}
