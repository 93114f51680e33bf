package model

import (
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// denseOp is y = act(x·W + b) for x (n, in) (or any shape (n, ...) read
// as n rows of in values), W (in, out), b (out); act is ReLU or identity.
type denseOp struct {
	opBase
	b          *builder
	n, in, out int
	relu       bool
	wOff, bOff int // flat offsets of W and b
}

func (o *denseOp) run(c *runCtx, y []float32, in [][]float32, _ bool) {
	x, w, b := in[0], in[1], in[2]
	linearChunks(c, o.n, o.in, o.out, o.wOff, x, w, y)
	c.waitParams(o.bOff, o.bOff+o.out)
	b = b[:o.out]
	for i := range o.n {
		row := y[i*o.out : (i+1)*o.out]
		row = row[:len(b)]
		if o.relu {
			for j, v := range row {
				v += b[j]
				if v < 0 {
					v = 0
				}
				row[j] = v
			}
		} else {
			for j, v := range row {
				row[j] = v + b[j]
			}
		}
	}
}

// linearChunks is y = x·W for x (n, in) and W (in, out) at flat offset
// wOff, after every bucket of W is there. It is one GEMM whatever the
// buckets: a GEMM in row chunks of W would sum in another order (the
// packed GEMM and OpenBLAS block k), and the buckets must never change a
// result.
func linearChunks(c *runCtx, n, in, out, wOff int, x, w, y []float32) {
	c.waitParams(wOff, wOff+in*out)
	gemm(false, false, n, out, in, x, in, w, out, 0, y, out)
}

func (o *denseOp) DiffWRT(int) []bool { return []bool{true, true, true} }

// SymDiff builds dz (the gradient before the activation), then
// dW = xᵀ·dz, db = Σrows dz and dx = dz·Wᵀ as kernels.
func (o *denseOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	x, w := inputs[0], inputs[1]
	dz := grad
	if o.relu {
		var err error
		if dz, err = o.b.apply(&reluBackOp{}, o.name+".relu'", tensor.Shape{o.n, o.out}, output, grad); err != nil {
			return nil, err
		}
	}
	dw, err := o.b.apply(&denseWGradOp{n: o.n, in: o.in, out: o.out, wOff: o.wOff}, o.name+".dW", tensor.Shape{o.in, o.out}, x, dz)
	if err != nil {
		return nil, err
	}
	db, err := o.b.apply(&biasGradOp{n: o.n, out: o.out, bOff: o.bOff}, o.name+".db", tensor.Shape{o.out}, dz)
	if err != nil {
		return nil, err
	}
	dx, err := o.b.apply(&denseXGradOp{n: o.n, in: o.in, out: o.out}, o.name+".dx", x.Shape(), dz, w)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx, dw, db}, nil
}

// reluBackOp is dz = g where y > 0, else 0 (y = ReLU's output).
type reluBackOp struct{ opBase }

func (o *reluBackOp) run(_ *runCtx, dz []float32, in [][]float32, _ bool) {
	y, g := in[0], in[1]
	y, g = y[:len(dz)], g[:len(dz)]
	for i := range dz {
		if y[i] > 0 {
			dz[i] = g[i]
		} else {
			dz[i] = 0
		}
	}
}

// denseWGradOp is dW = xᵀ·dz, one GEMM (see linearChunks), its buckets
// then announced from the last to the first.
type denseWGradOp struct {
	opBase
	n, in, out int
	wOff       int
}

func (o *denseWGradOp) run(c *runCtx, dw []float32, in [][]float32, acc bool) {
	x, dz := in[0], in[1]
	var beta float32
	if acc {
		beta = 1
	}
	gemm(true, false, o.in, o.out, o.n, x, o.in, dz, o.out, beta, dw, o.out)
	for hi := o.wOff + o.in*o.out; hi > o.wOff; {
		lo := c.prevCut(o.wOff, hi)
		c.gradsReady(lo, hi)
		hi = lo
	}
}

// biasGradOp is db = Σ over the n rows of dz.
type biasGradOp struct {
	opBase
	n, out int
	bOff   int
}

func (o *biasGradOp) run(c *runCtx, db []float32, in [][]float32, acc bool) {
	dz := in[0]
	db = db[:o.out]
	if !acc {
		clear(db)
	}
	for i := range o.n {
		row := dz[i*o.out : (i+1)*o.out]
		row = row[:len(db)]
		for j, v := range row {
			db[j] += v
		}
	}
	c.gradsReady(o.bOff, o.bOff+o.out)
}

// denseXGradOp is dx = dz·Wᵀ.
type denseXGradOp struct {
	opBase
	n, in, out int
}

func (o *denseXGradOp) run(_ *runCtx, dx []float32, in [][]float32, _ bool) {
	dz, w := in[0], in[1]
	gemm(false, true, o.n, o.in, o.out, dz, o.out, w, o.out, 0, dx, o.in)
}
