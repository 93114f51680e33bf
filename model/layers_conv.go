package model

import (
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// conv2dOp is a general 2-D convolution y = conv(x, W, pad, stride) + b
// for x (n, c, h, w), W (o, c, k, k), b (o) or none, y (n, o, oh, ow),
// all row-major. Sample by sample, the input is unfolded into a column
// matrix (c·k·k, oh·ow) (im2col, one buffer allocated once) and
// multiplied by W as one GEMM. The backward kernels unfold again instead
// of keeping n column matrices.
type conv2dOp struct {
	opBase
	b                 *builder
	n, c, h, w        int
	o, k, pad, stride int
	oh, ow            int
	wOff, bOff        int // flat offsets of W and b (bOff < 0: no bias)
	col               []float32
}

func newConv2DOp(b *builder, n int, in []int, l Layer, wOff, bOff int) *conv2dOp {
	op := &conv2dOp{b: b, n: n, c: in[0], h: in[1], w: in[2], o: l.Out, k: l.Kernel, pad: l.Pad, stride: l.stride(), wOff: wOff, bOff: bOff}
	op.oh = (op.h+2*op.pad-op.k)/op.stride + 1
	op.ow = (op.w+2*op.pad-op.k)/op.stride + 1
	op.col = make([]float32, op.ckk()*op.oh*op.ow)
	return op
}

func (o *conv2dOp) ckk() int { return o.c * o.k * o.k }

// im2col unfolds sample x (c, h, w) into col (c·k·k, oh·ow): row
// (ci·k + ky)·k + kx holds x[ci][oy·s - pad + ky][ox·s - pad + kx] for
// every output position, 0 in the padding.
func (o *conv2dOp) im2col(col, x []float32) {
	p := o.oh * o.ow
	r := 0
	for ci := range o.c {
		plane := x[ci*o.h*o.w : (ci+1)*o.h*o.w]
		for ky := range o.k {
			for kx := range o.k {
				dst := col[r*p : (r+1)*p]
				for oy := range o.oh {
					iy := oy*o.stride - o.pad + ky
					row := dst[oy*o.ow : (oy+1)*o.ow]
					if iy < 0 || iy >= o.h {
						clear(row)
						continue
					}
					src := plane[iy*o.w : (iy+1)*o.w]
					lo, hi := o.validCols(kx)
					clear(row[:lo])
					clear(row[hi:])
					if o.stride == 1 {
						copy(row[lo:hi], src[lo-o.pad+kx:])
						continue
					}
					for ox := lo; ox < hi; ox++ {
						row[ox] = src[ox*o.stride-o.pad+kx]
					}
				}
				r++
			}
		}
	}
}

// validCols is the range [lo, hi) of output columns whose input column
// ox·stride - pad + kx lies inside the image (lo <= hi).
func (o *conv2dOp) validCols(kx int) (lo, hi int) {
	// ox·s - pad + kx >= 0  ⇔  ox >= ceil((pad - kx)/s)
	if d := o.pad - kx; d > 0 {
		lo = (d + o.stride - 1) / o.stride
	}
	// ox·s - pad + kx <= w - 1  ⇔  ox <= floor((w - 1 + pad - kx)/s)
	if d := o.w - 1 + o.pad - kx; d >= 0 {
		hi = d/o.stride + 1
	}
	lo, hi = min(lo, o.ow), min(hi, o.ow)
	return lo, max(lo, hi)
}

// col2im adds col (c·k·k, oh·ow) back into sample dx (c, h, w): the
// transpose of im2col.
func (o *conv2dOp) col2im(dx, col []float32) {
	p := o.oh * o.ow
	r := 0
	for ci := range o.c {
		plane := dx[ci*o.h*o.w : (ci+1)*o.h*o.w]
		for ky := range o.k {
			for kx := range o.k {
				src := col[r*p : (r+1)*p]
				for oy := range o.oh {
					iy := oy*o.stride - o.pad + ky
					if iy < 0 || iy >= o.h {
						continue
					}
					dst := plane[iy*o.w : (iy+1)*o.w]
					lo, hi := o.validCols(kx)
					row := src[oy*o.ow+lo : oy*o.ow+hi]
					if o.stride == 1 {
						d := dst[lo-o.pad+kx:]
						d = d[:len(row)]
						for j, v := range row {
							d[j] += v
						}
						continue
					}
					for j, v := range row {
						dst[(lo+j)*o.stride-o.pad+kx] += v
					}
				}
				r++
			}
		}
	}
}

func (o *conv2dOp) run(c *runCtx, y []float32, in [][]float32, _ bool) {
	x, w := in[0], in[1]
	ckk, p := o.ckk(), o.oh*o.ow
	c.waitParams(o.wOff, o.wOff+o.o*ckk)
	var bias []float32
	if len(in) > 2 {
		c.waitParams(o.bOff, o.bOff+o.o)
		bias = in[2][:o.o]
	}
	in0, out0 := o.c*o.h*o.w, o.o*p
	for i := range o.n {
		o.im2col(o.col, x[i*in0:(i+1)*in0])
		yi := y[i*out0 : (i+1)*out0]
		gemm(false, false, o.o, p, ckk, w, ckk, o.col, p, 0, yi, p)
		for oc, bv := range bias {
			row := yi[oc*p : (oc+1)*p]
			for j := range row {
				row[j] += bv
			}
		}
	}
}

func (o *conv2dOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = true
	}
	return d
}

// SymDiff builds dx = col2im(Wᵀ·g), dW = Σ g·colᵀ and db = Σ g per
// channel.
func (o *conv2dOp) SymDiff(inputs G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	x, w := inputs[0], inputs[1]
	dx, err := o.b.apply(&conv2dXGradOp{fwd: o, dcol: make([]float32, len(o.col))}, o.name+".dx", x.Shape().Clone(), grad, w)
	if err != nil {
		return nil, err
	}
	dw, err := o.b.apply(&conv2dWGradOp{fwd: o, col: make([]float32, len(o.col))}, o.name+".dW", tensor.Shape{o.o, o.c, o.k, o.k}, x, grad)
	if err != nil {
		return nil, err
	}
	out := G.Nodes{dx, dw}
	if len(inputs) > 2 {
		db, err := o.b.apply(&conv2dBiasGradOp{fwd: o}, o.name+".db", tensor.Shape{o.o}, grad)
		if err != nil {
			return nil, err
		}
		out = append(out, db)
	}
	return out, nil
}

// conv2dXGradOp is dx: per sample dcol = Wᵀ·g, folded back by col2im.
type conv2dXGradOp struct {
	opBase
	fwd  *conv2dOp
	dcol []float32
}

func (op *conv2dXGradOp) run(_ *runCtx, dx []float32, in [][]float32, _ bool) {
	o := op.fwd
	g, w := in[0], in[1]
	ckk, p := o.ckk(), o.oh*o.ow
	in0, out0 := o.c*o.h*o.w, o.o*p
	clear(dx)
	for i := range o.n {
		gemm(true, false, ckk, p, o.o, w, ckk, g[i*out0:(i+1)*out0], p, 0, op.dcol, p)
		o.col2im(dx[i*in0:(i+1)*in0], op.dcol)
	}
}

// conv2dWGradOp is dW = Σ over samples of g·colᵀ, added into dW when the
// pass accumulates.
type conv2dWGradOp struct {
	opBase
	fwd *conv2dOp
	col []float32
}

func (op *conv2dWGradOp) run(c *runCtx, dw []float32, in [][]float32, acc bool) {
	o := op.fwd
	x, g := in[0], in[1]
	ckk, p := o.ckk(), o.oh*o.ow
	in0, out0 := o.c*o.h*o.w, o.o*p
	var beta float32
	if acc {
		beta = 1
	}
	for i := range o.n {
		o.im2col(op.col, x[i*in0:(i+1)*in0])
		gemm(false, true, o.o, ckk, p, g[i*out0:(i+1)*out0], p, op.col, p, beta, dw, ckk)
		beta = 1
	}
	c.gradsReady(o.wOff, o.wOff+o.o*ckk)
}

// conv2dBiasGradOp is db[oc] = Σ over samples and positions of g.
type conv2dBiasGradOp struct {
	opBase
	fwd *conv2dOp
}

func (op *conv2dBiasGradOp) run(c *runCtx, db []float32, in [][]float32, acc bool) {
	o := op.fwd
	g := in[0]
	p := o.oh * o.ow
	db = db[:o.o]
	if !acc {
		clear(db)
	}
	for i := range o.n {
		for oc := range db {
			var s float32
			for _, v := range g[(i*o.o+oc)*p : (i*o.o+oc+1)*p] {
				s += v
			}
			db[oc] += s
		}
	}
	c.gradsReady(o.bOff, o.bOff+o.o)
}

// maxPoolOp is y[c][py][px] = max of x[c] over the size×size window at
// (py·s, px·s), for x (n, c, h, w). It keeps where each maximum was (the
// first, on ties) for the backward pass.
type maxPoolOp struct {
	opBase
	b                    *builder
	n, c, h, w           int
	size, stride, ph, pw int
	arg                  []int32 // per output: the index of its maximum in x
}

func newMaxPoolOp(b *builder, n int, in, out []int, l Layer) *maxPoolOp {
	op := &maxPoolOp{b: b, n: n, c: in[0], h: in[1], w: in[2], size: l.Size, stride: l.stride(), ph: out[1], pw: out[2]}
	op.arg = make([]int32, n*op.c*op.ph*op.pw)
	return op
}

func (o *maxPoolOp) run(_ *runCtx, y []float32, in [][]float32, _ bool) {
	x := in[0]
	j := 0
	for pl := range o.n * o.c {
		base := pl * o.h * o.w
		for py := range o.ph {
			for px := range o.pw {
				at := base + py*o.stride*o.w + px*o.stride
				best, arg := x[at], at
				for ky := range o.size {
					row := at + ky*o.w
					for kx, v := range x[row : row+o.size] {
						if v > best {
							best, arg = v, row+kx
						}
					}
				}
				y[j], o.arg[j] = best, int32(arg)
				j++
			}
		}
	}
}

func (o *maxPoolOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff routes the gradient to the maxima.
func (o *maxPoolOp) SymDiff(inputs G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	d, err := o.b.apply(&maxPoolBackOp{fwd: o}, o.name+"'", inputs[0].Shape().Clone(), grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{d}, nil
}

// maxPoolBackOp is dx: g added at every output's maximum, 0 elsewhere.
type maxPoolBackOp struct {
	opBase
	fwd *maxPoolOp
}

func (o *maxPoolBackOp) run(_ *runCtx, dx []float32, in [][]float32, _ bool) {
	g := in[0][:len(o.fwd.arg)]
	clear(dx)
	for j, a := range o.fwd.arg {
		dx[a] += g[j]
	}
}
