package model

import (
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// lnEps is LayerNorm's epsilon (PyTorch's default).
const lnEps = 1e-5

// layerNormOp is y = (x - mean)/sqrt(var + 1e-5)·w (+ b) per row of x (n,
// dim), with the biased variance, as F.layer_norm; w and b are (dim). It
// keeps every row's mean and 1/sqrt(var + eps) for the backward kernels.
type layerNormOp struct {
	opBase
	b          *builder
	n, dim     int
	wOff, bOff int // flat offsets of w and b (bOff < 0: no bias)
	mean, rstd []float32
}

func newLayerNormOp(b *builder, n, dim, wOff, bOff int) *layerNormOp {
	return &layerNormOp{b: b, n: n, dim: dim, wOff: wOff, bOff: bOff, mean: make([]float32, n), rstd: make([]float32, n)}
}

// apply adds the LayerNorm of x with weight w and bias bias (nil: none).
func (o *layerNormOp) apply(name string, x, w, bias *G.Node) (*G.Node, error) {
	if bias == nil {
		return o.b.apply(o, name, tensor.Shape{o.n, o.dim}, x, w)
	}
	return o.b.apply(o, name, tensor.Shape{o.n, o.dim}, x, w, bias)
}

func (o *layerNormOp) run(c *runCtx, y []float32, in [][]float32, _ bool) {
	x, w := in[0], in[1][:o.dim]
	c.waitParams(o.wOff, o.wOff+o.dim)
	var bias []float32
	if len(in) > 2 {
		bias = in[2][:o.dim]
		c.waitParams(o.bOff, o.bOff+o.dim)
	}
	inv := 1 / float32(o.dim)
	for r := range o.n {
		xr := x[r*o.dim : (r+1)*o.dim]
		mean, variance := lnStats(xr, inv)
		rstd := float32(1 / math.Sqrt(float64(variance)+lnEps))
		o.mean[r], o.rstd[r] = mean, rstd
		lnNorm(xr, w, bias, y[r*o.dim:(r+1)*o.dim], mean, rstd)
	}
}

func (o *layerNormOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = true
	}
	return d
}

// SymDiff: dx, dw = Σrows g·x̂ and db = Σrows g, with x̂ = (x - mean)·rstd
// recomputed from the kept statistics.
func (o *layerNormOp) SymDiff(inputs G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	x, w := inputs[0], inputs[1]
	dx, err := o.b.apply(&lnXGradOp{fwd: o}, o.name+".dx", tensor.Shape{o.n, o.dim}, x, w, grad)
	if err != nil {
		return nil, err
	}
	dw, err := o.b.apply(&lnWGradOp{fwd: o}, o.name+".dw", tensor.Shape{o.dim}, x, grad)
	if err != nil {
		return nil, err
	}
	out := G.Nodes{dx, dw}
	if len(inputs) > 2 {
		db, err := o.b.apply(&biasGradOp{n: o.n, out: o.dim, bOff: o.bOff}, o.name+".db", tensor.Shape{o.dim}, grad)
		if err != nil {
			return nil, err
		}
		out = append(out, db)
	}
	return out, nil
}

// lnXGradOp is dx = rstd·(g·w - mean(g·w) - x̂·mean(g·w·x̂)) per row.
type lnXGradOp struct {
	opBase
	fwd *layerNormOp
}

func (op *lnXGradOp) run(_ *runCtx, dx []float32, in [][]float32, _ bool) {
	o := op.fwd
	x, w, g := in[0], in[1][:o.dim], in[2]
	inv := 1 / float32(o.dim)
	for r := range o.n {
		xr := x[r*o.dim : (r+1)*o.dim]
		gr := g[r*o.dim : (r+1)*o.dim]
		mean, rstd := o.mean[r], o.rstd[r]
		a, b := lnGradSums(xr, w, gr, mean)
		// x̂·mean(g·w·x̂) = (x - mean)·rstd²·mean(g·w·(x - mean))
		lnDx(xr, w, gr, dx[r*o.dim:(r+1)*o.dim], mean, rstd, rstd*a*inv, rstd*rstd*rstd*b*inv)
	}
}

// lnWGradOp is dw = Σrows g·x̂, added into dw when the pass accumulates.
type lnWGradOp struct {
	opBase
	fwd *layerNormOp
}

func (op *lnWGradOp) run(c *runCtx, dw []float32, in [][]float32, acc bool) {
	o := op.fwd
	x, g := in[0], in[1]
	dw = dw[:o.dim]
	if !acc {
		clear(dw)
	}
	for r := range o.n {
		lnDw(x[r*o.dim:(r+1)*o.dim], g[r*o.dim:(r+1)*o.dim], dw, o.mean[r], o.rstd[r])
	}
	c.gradsReady(o.wOff, o.wOff+o.dim)
}
