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
		yr := y[r*o.dim : (r+1)*o.dim]
		yr = yr[:len(xr)]
		mean := sumf32(xr) * inv
		rstd := float32(1 / math.Sqrt(float64(sumSqDev(xr, mean)*inv+lnEps)))
		o.mean[r], o.rstd[r] = mean, rstd
		if bias != nil {
			for j, v := range xr {
				yr[j] = (v-mean)*rstd*w[j] + bias[j]
			}
		} else {
			for j, v := range xr {
				yr[j] = (v - mean) * rstd * w[j]
			}
		}
	}
}

// sumf32 is Σ x in four interleaved partial sums (a float32 add's latency,
// not its throughput, bounds a single running sum).
func sumf32(x []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		s0 += v[0]
		s1 += v[1]
		s2 += v[2]
		s3 += v[3]
	}
	for ; i < len(x); i++ {
		s0 += x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// sumSqDev is Σ (x - mean)², as sumf32.
func sumSqDev(x []float32, mean float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		d0, d1, d2, d3 := v[0]-mean, v[1]-mean, v[2]-mean, v[3]-mean
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(x); i++ {
		d := x[i] - mean
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
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
		dr := dx[r*o.dim : (r+1)*o.dim]
		gr, dr = gr[:len(xr)], dr[:len(xr)]
		mean, rstd := o.mean[r], o.rstd[r]
		a, b := lnGradSums(xr, w, gr, mean)
		a *= inv
		b *= inv * rstd
		for j, v := range xr {
			dr[j] = rstd * (gr[j]*w[j] - a - (v-mean)*rstd*b)
		}
	}
}

// lnGradSums is Σ g·w and Σ g·w·(x - mean) over a row, in interleaved
// partial sums (as sumf32).
func lnGradSums(x, w, g []float32, mean float32) (a, b float32) {
	var a0, a1, b0, b1 float32
	w, g = w[:len(x)], g[:len(x)]
	i := 0
	for ; i+2 <= len(x); i += 2 {
		g0, g1 := g[i]*w[i], g[i+1]*w[i+1]
		a0 += g0
		a1 += g1
		b0 += g0 * (x[i] - mean)
		b1 += g1 * (x[i+1] - mean)
	}
	for ; i < len(x); i++ {
		gw := g[i] * w[i]
		a0 += gw
		b0 += gw * (x[i] - mean)
	}
	return a0 + a1, b0 + b1
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
		xr := x[r*o.dim : (r+1)*o.dim]
		gr := g[r*o.dim : (r+1)*o.dim]
		xr = xr[:len(dw)]
		gr = gr[:len(dw)]
		mean, rstd := o.mean[r], o.rstd[r]
		for j, v := range xr {
			dw[j] += gr[j] * (v - mean) * rstd
		}
	}
	c.gradsReady(o.wOff, o.wOff+o.dim)
}
