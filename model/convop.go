package model

import (
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// convOp is one LeNet block, fused: maxpool2x2(ReLU(conv(x, w, pad) + b))
// for x (n, c, h, w), w (o, c, k, k), b (o), stride 1; output (n, o, ph,
// pw). The convolution is im2col of the whole batch into one (c·k·k,
// n·oh·ow) matrix and one GEMM; so are its weight and input gradients. It
// keeps what its backward needs: the columns, the activations (laid out
// (o, n, oh·ow)) and the argmax of every pooling window.
type convOp struct {
	opBase
	b                *builder
	n, c, h, w       int
	o, k, pad        int
	oh, ow, ph, pw   int
	wOff, bOff       int
	cols, act        []float32 // (c·k·k, n·oh·ow); (o, n·oh·ow) before bias and ReLU
	argmax           []int32   // n·o·(ph·pw): index in its activation plane
	ckk, plane, pool int       // c·k·k; oh·ow; ph·pw
	cols1            int       // n·oh·ow: the row length of cols and act
}

func newConvOp(b *builder, n, c, h, w, o, k, pad, wOff, bOff int) *convOp {
	op := &convOp{b: b, n: n, c: c, h: h, w: w, o: o, k: k, pad: pad, wOff: wOff, bOff: bOff}
	op.oh, op.ow = h+2*pad-k+1, w+2*pad-k+1
	op.ph, op.pw = op.oh/cnnPool, op.ow/cnnPool
	op.ckk, op.plane, op.pool = c*k*k, op.oh*op.ow, op.ph*op.pw
	op.cols1 = n * op.plane
	op.cols = make([]float32, n*op.ckk*op.plane)
	op.act = make([]float32, n*o*op.plane)
	op.argmax = make([]int32, n*o*op.pool)
	return op
}

func (o *convOp) outShape() tensor.Shape { return tensor.Shape{o.n, o.o, o.ph, o.pw} }

func (o *convOp) run(c *runCtx, out []float32, in [][]float32, _ bool) {
	x, w, b := in[0], in[1], in[2]
	c.waitParams(o.wOff, o.wOff+o.o*o.ckk)
	c.waitParams(o.bOff, o.bOff+o.o)
	o.im2col(x, o.cols)
	gemm(false, false, o.o, o.cols1, o.ckk, w, o.ckk, o.cols, o.cols1, 0, o.act, o.cols1)
	// max(ReLU(a + bias)) = ReLU(max(a) + bias) per channel: pool the raw
	// convolution, then add the bias and rectify only the pooled values.
	for i := range o.n {
		for oc := range o.o {
			j := (i*o.o + oc) * o.pool
			pooled := out[j : j+o.pool]
			o.maxpool(o.act[oc*o.cols1+i*o.plane:oc*o.cols1+(i+1)*o.plane], pooled, o.argmax[j:j+o.pool])
			bias := b[oc]
			for q, v := range pooled {
				v += bias
				if v < 0 {
					v = 0
				}
				pooled[q] = v
			}
		}
	}
}

// im2col writes the (c·k·k, n·oh·ow) column matrix of the whole batch x
// into col. Row by row: each row of col is then one sequential write
// stream (the batch's input, a few hundred KiB, stays in cache), where a
// sample at a time would interleave c·k·k streams, one per row, and wait on
// their cache misses. The rows are a few dozen values: plain loops over
// locals beat calls of copy and clear (TestIm2colAgainstReference,
// BenchmarkIm2col).
func (o *convOp) im2col(x, col []float32) {
	h, w, oh, ow, pad, k, plane, size := o.h, o.w, o.oh, o.ow, o.pad, o.k, o.plane, o.c*o.h*o.w
	r := 0
	for ci := range o.c {
		for ky := range k {
			for kx := range k {
				lo, hi := o.validX(kx)
				off := kx - pad
				row := col[r*o.cols1 : (r+1)*o.cols1]
				r++
				for i := range o.n {
					xc := x[i*size+ci*h*w : i*size+(ci+1)*h*w]
					dst := row[i*plane : (i+1)*plane]
					for oy := range oh {
						d := dst[oy*ow : (oy+1)*ow]
						iy := oy + ky - pad
						if iy < 0 || iy >= h || lo >= hi {
							clear(d)
							continue
						}
						src := xc[iy*w : (iy+1)*w]
						for ox := 0; ox < lo; ox++ {
							d[ox] = 0
						}
						for ox := lo; ox < hi; ox++ {
							d[ox] = src[ox+off]
						}
						for ox := hi; ox < ow; ox++ {
							d[ox] = 0
						}
					}
				}
			}
		}
	}
}

// validX is the range of output columns ox whose input column
// ox + kx - pad lies inside the image.
func (o *convOp) validX(kx int) (lo, hi int) {
	lo = max(0, o.pad-kx)
	hi = min(o.ow, o.w+o.pad-kx)
	return lo, max(lo, hi)
}

// col2im adds the column matrix dcol of n samples (rows stride apart)
// back into their dx (zeroed by the caller), row by row like im2col.
func (o *convOp) col2im(dcol []float32, stride, n int, dx []float32) {
	h, w, oh, ow, pad, k, plane, size := o.h, o.w, o.oh, o.ow, o.pad, o.k, o.plane, o.c*o.h*o.w
	r := 0
	for ci := range o.c {
		for ky := range k {
			for kx := range k {
				lo, hi := o.validX(kx)
				off := kx - pad
				row := dcol[r*stride : r*stride+n*plane]
				r++
				if lo >= hi {
					continue
				}
				for i := range n {
					xc := dx[i*size+ci*h*w : i*size+(ci+1)*h*w]
					src := row[i*plane : (i+1)*plane]
					for oy := range oh {
						iy := oy + ky - pad
						if iy < 0 || iy >= h {
							continue
						}
						s := src[oy*ow : (oy+1)*ow]
						d := xc[iy*w : (iy+1)*w]
						for ox := lo; ox < hi; ox++ {
							d[ox+off] += s[ox]
						}
					}
				}
			}
		}
	}
}

// maxpool is the 2x2 stride-2 max of one activation plane p into out,
// the first maximum of a window winning, with its index kept in arg. It
// is written without data-dependent branches (the builtin max, then index
// selects), which random data would mispredict half the time.
func (o *convOp) maxpool(p, out []float32, arg []int32) {
	ow := o.ow
	for py := range o.ph {
		r0 := p[2*py*ow : (2*py+1)*ow]
		r1 := p[(2*py+1)*ow : (2*py+2)*ow]
		po := out[py*o.pw : (py+1)*o.pw]
		pa := arg[py*o.pw : (py+1)*o.pw]
		pa = pa[:len(po)]
		base := int32(2 * py * ow)
		for px := range po {
			x := 2 * px
			a, b, c, d := r0[x], r0[x+1], r1[x], r1[x+1]
			m := max(max(a, b), max(c, d))
			i := int32(ow + x + 1)
			if c == m {
				i = int32(ow + x)
			}
			if b == m {
				i = int32(x + 1)
			}
			if a == m {
				i = int32(x)
			}
			po[px], pa[px] = m, base+i
		}
	}
}

func (o *convOp) DiffWRT(int) []bool { return []bool{true, true, true} }

// SymDiff builds dact (the gradient before ReLU, routed through the
// pooling), then dw, db and dx from it.
func (o *convOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	x, w := inputs[0], inputs[1]
	dact, err := o.b.apply(&convActGradOp{fwd: o}, o.name+".act'", tensor.Shape{o.o, o.n, o.plane}, output, grad)
	if err != nil {
		return nil, err
	}
	dw, err := o.b.apply(&convWGradOp{fwd: o}, o.name+".dW", tensor.Shape{o.o, o.c, o.k, o.k}, dact)
	if err != nil {
		return nil, err
	}
	db, err := o.b.apply(&biasPlaneGradOp{fwd: o}, o.name+".db", tensor.Shape{o.o}, dact)
	if err != nil {
		return nil, err
	}
	dx, err := o.b.apply(newConvXGradOp(o), o.name+".dx", x.Shape(), dact, w)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx, dw, db}, nil
}

// convActGradOp routes the pooled gradient g to each window's argmax where
// ReLU let the pooled value through (out > 0): d act, laid out like act.
type convActGradOp struct {
	opBase
	fwd *convOp
}

func (op *convActGradOp) run(_ *runCtx, d []float32, in [][]float32, _ bool) {
	o, out, g := op.fwd, in[0], in[1]
	clear(d)
	for i := range o.n {
		for oc := range o.o {
			at := oc*o.cols1 + i*o.plane
			plane := d[at : at+o.plane]
			j0 := (i*o.o + oc) * o.pool
			for j, a := range o.argmax[j0 : j0+o.pool] {
				if out[j0+j] > 0 { // ReLU passed the window's maximum
					plane[a] += g[j0+j]
				}
			}
		}
	}
}

// convWGradOp is dw = dact · colsᵀ.
type convWGradOp struct {
	opBase
	fwd *convOp
}

func (op *convWGradOp) run(c *runCtx, dw []float32, in [][]float32, acc bool) {
	o, dact := op.fwd, in[0]
	var beta float32
	if acc {
		beta = 1
	}
	gemm(false, true, o.o, o.ckk, o.cols1, dact, o.cols1, o.cols, o.cols1, beta, dw, o.ckk)
	c.gradsReady(o.wOff, o.wOff+o.o*o.ckk)
}

// biasPlaneGradOp is db = Σ over samples and positions of dact.
type biasPlaneGradOp struct {
	opBase
	fwd *convOp
}

func (op *biasPlaneGradOp) run(c *runCtx, db []float32, in [][]float32, acc bool) {
	o, dact := op.fwd, in[0]
	if !acc {
		clear(db)
	}
	for oc := range o.o {
		var s float32
		for _, v := range dact[oc*o.cols1 : (oc+1)*o.cols1] {
			s += v
		}
		db[oc] += s
	}
	c.gradsReady(o.bOff, o.bOff+o.o)
}

// convXGradOp is dx: dcol = wᵀ·dact, then col2im, a few samples at a
// time so that the column block (c·k·k values per output position) stays
// in cache between the GEMM that writes it and col2im that reads it.
type convXGradOp struct {
	opBase
	fwd   *convOp
	chunk int // samples per block
	dcol  []float32
}

// colBlockBytes bounds a column block of convXGradOp.
const colBlockBytes = 256 << 10

func newConvXGradOp(fwd *convOp) *convXGradOp {
	chunk := max(1, min(fwd.n, colBlockBytes/(4*fwd.ckk*fwd.plane)))
	return &convXGradOp{fwd: fwd, chunk: chunk, dcol: make([]float32, fwd.ckk*chunk*fwd.plane)}
}

func (op *convXGradOp) run(_ *runCtx, dx []float32, in [][]float32, _ bool) {
	o, dact, w := op.fwd, in[0], in[1]
	clear(dx)
	size := o.c * o.h * o.w
	for i0 := 0; i0 < o.n; i0 += op.chunk {
		m := min(op.chunk, o.n-i0)
		ld := m * o.plane
		gemm(true, false, o.ckk, ld, o.o, w, o.ckk, dact[i0*o.plane:], o.cols1, 0, op.dcol, ld)
		o.col2im(op.dcol, ld, m, dx[i0*size:])
	}
}
