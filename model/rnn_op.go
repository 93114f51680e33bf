package model

import (
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// rnnCell is the recurrence of a layer.
type rnnCell int

const (
	cellLSTM rnnCell = iota // gates i, f, g, o
	cellGRU                 // gates r, z, n
)

// gates is the number of gate blocks of H columns.
func (c rnnCell) gates() int {
	if c == cellGRU {
		return 3
	}
	return 4
}

// rnnLayer is one recurrent layer over n samples of t steps: its sizes,
// parameter offsets and buffers, shared by its forward kernel and its
// backward kernels. Rows of the (n·t, ·) matrices are r = sample·t + step,
// the order of the embedding's output and the head's input.
type rnnLayer struct {
	cell        rnnCell
	n, t, in, h int
	g           int // gate columns: gates()·h
	wihOff      int // flat offsets of the parameters
	whhOff      int
	bihOff      int
	bhhOff      int

	// Forward; what backward needs is kept for every step.
	gates []float32 // (n·t, g): x·W_ih, then the activated gates
	whhT  []float32 // (g, h): W_hhᵀ, for the recurrent GEMMs (see recur)
	bias  []float32 // (g): b_ih + b_hh; gru: the n block is b_ih's only
	zero  []float32 // (h): the zero initial state
	c, tc []float32 // lstm (n·t, h): the cell state and its tanh
	hn    []float32 // gru (n·t, h): W_hn·h_prev + b_hn
	gh    []float32 // gru (n, g): one step's h_prev·W_hh

	// Backward (training programs only).
	hp []float32 // (n·t, h): h_prev of every row (zero at step 0)
	dh []float32 // (n, h): the gradient reaching h_s from step s+1
	dc []float32 // lstm (n, h): the gradient reaching c_s from step s+1
}

func newRNNLayer(cell rnnCell, n, t, in, h, wihOff, whhOff, bihOff, bhhOff int) *rnnLayer {
	g := cell.gates() * h
	l := &rnnLayer{cell: cell, n: n, t: t, in: in, h: h, g: g,
		wihOff: wihOff, whhOff: whhOff, bihOff: bihOff, bhhOff: bhhOff,
		gates: make([]float32, n*t*g), whhT: make([]float32, g*h), bias: make([]float32, g), zero: make([]float32, h)}
	if cell == cellLSTM {
		l.c, l.tc = make([]float32, n*t*h), make([]float32, n*t*h)
	} else {
		l.hn, l.gh = make([]float32, n*t*h), make([]float32, n*g)
	}
	return l
}

// dgRows is the number of rows of the backward kernel's output: the
// gradients of the gates' pre-activations, (n·t, g) for the input side,
// and for gru a second (n·t, g) block for the recurrent side (its n block
// is scaled by r).
func (l *rnnLayer) dgRows() int {
	if l.cell == cellGRU {
		return 2 * l.n * l.t
	}
	return l.n * l.t
}

// dgh is the recurrent side's block of the backward kernel's output.
func (l *rnnLayer) dgh(dg []float32) []float32 {
	if l.cell == cellGRU {
		return dg[l.n*l.t*l.g:]
	}
	return dg
}

// rnnOp is one recurrent layer over a whole sequence: out (n·t, h) are
// the hidden states h_s of x (n·t, in), W_ih, W_hh, b_ih, b_hh. The input
// side of every step is one GEMM over all rows; then step by step the
// recurrent GEMM of the n samples and the gates.
type rnnOp struct {
	opBase
	b *builder
	l *rnnLayer
}

func (o *rnnOp) run(c *runCtx, out []float32, in [][]float32, _ bool) {
	l := o.l
	x, wih, whh, bih, bhh := in[0], in[1], in[2], in[3], in[4]
	c.waitParams(l.wihOff, l.wihOff+l.in*l.g)
	gemm(false, false, l.n*l.t, l.g, l.in, x, l.in, wih, l.g, 0, l.gates, l.g)
	c.waitParams(l.whhOff, l.whhOff+l.h*l.g)
	c.waitParams(l.bihOff, l.bihOff+l.g)
	c.waitParams(l.bhhOff, l.bhhOff+l.g)
	transpose(l.h, l.g, whh, l.whhT)
	bih, bhh = bih[:l.g], bhh[:l.g]
	nb := l.g
	if l.cell == cellGRU {
		nb = 2 * l.h // b_hn is added to W_hn·h_prev, inside r ∘ (…)
		copy(l.bias[nb:], bih[nb:])
	}
	for j := range nb {
		l.bias[j] = bih[j] + bhh[j]
	}
	for s := range l.t {
		if l.cell == cellGRU {
			l.gruStep(s, out, whh, bhh[2*l.h:])
		} else {
			l.lstmStep(s, out, whh)
		}
	}
}

// rnnDotGemm: the build's BLAS runs the recurrent products fastest as
// A·Bᵀ (gonum's GEMM then takes dot products of rows; the A·B form runs
// as axpys, about 1.6 times slower), else as A·B (OpenBLAS, whose A·Bᵀ
// with 12 rows is about 3 times slower). Either way one of the two
// recurrent GEMMs reads W_hhᵀ, transposed once per pass.
const rnnDotGemm = BLAS == "gonum"

// recur is c (n rows, ldc) = a (n rows of h, lda)·W_hh + beta·c: the
// recurrent product of one step.
func (l *rnnLayer) recur(a []float32, lda int, whh []float32, beta float32, c []float32, ldc int) {
	if rnnDotGemm {
		gemm(false, true, l.n, l.g, l.h, a, lda, l.whhT, l.h, beta, c, ldc)
	} else {
		gemm(false, false, l.n, l.g, l.h, a, lda, whh, l.g, beta, c, ldc)
	}
}

// recurBack is c (n, h) = a (n rows of g, lda)·W_hhᵀ + beta·c: the
// gradient through the recurrent product of one step.
func (l *rnnLayer) recurBack(a []float32, lda int, whh []float32, beta float32, c []float32) {
	if rnnDotGemm {
		gemm(false, true, l.n, l.h, l.g, a, lda, whh, l.g, beta, c, l.h)
	} else {
		gemm(false, false, l.n, l.h, l.g, a, lda, l.whhT, l.h, beta, c, l.h)
	}
}

// transpose writes the (cols, rows) transpose of a (rows, cols) into t,
// in 32×32 tiles.
func transpose(rows, cols int, a, t []float32) {
	const b = 32
	a, t = a[:rows*cols], t[:rows*cols]
	for i0 := 0; i0 < rows; i0 += b {
		for j0 := 0; j0 < cols; j0 += b {
			for i := i0; i < min(i0+b, rows); i++ {
				row := a[i*cols : (i+1)*cols]
				for j := j0; j < min(j0+b, cols); j++ {
					t[j*rows+i] = row[j]
				}
			}
		}
	}
}

// hPrev is h_{s-1} of row r at step s: the previous row of out, or the
// zero initial state.
func (l *rnnLayer) hPrev(out []float32, r, s int) []float32 {
	if s == 0 {
		return l.zero
	}
	return out[(r-1)*l.h : r*l.h]
}

func (o *rnnOp) DiffWRT(int) []bool { return []bool{true, true, true, true, true} }

// SymDiff adds the backward pass through time (rnnBackOp: the gradients
// of the gates' pre-activations of every row, dG) and the GEMMs and sums
// over dG that make dx, dW_ih, dW_hh, db_ih and db_hh.
func (o *rnnOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	l := o.l
	l.hp = make([]float32, l.n*l.t*l.h)
	l.dh = make([]float32, l.n*l.h)
	if l.cell == cellLSTM {
		l.dc = make([]float32, l.n*l.h)
	}
	x, wih, whh := inputs[0], inputs[1], inputs[2]
	nt := l.n * l.t
	dg, err := o.b.apply(&rnnBackOp{l: l}, o.name+".bptt", tensor.Shape{l.dgRows(), l.g}, output, grad, whh)
	if err != nil {
		return nil, err
	}
	dx, err := o.b.apply(&denseXGradOp{n: nt, in: l.in, out: l.g}, o.name+".dx", x.Shape(), dg, wih)
	if err != nil {
		return nil, err
	}
	dwih, err := o.b.apply(&denseWGradOp{n: nt, in: l.in, out: l.g, wOff: l.wihOff}, o.name+".dW_ih", tensor.Shape{l.in, l.g}, x, dg)
	if err != nil {
		return nil, err
	}
	whhGrad := &rnnWHHGradOp{l: l, w: denseWGradOp{n: nt, in: l.h, out: l.g, wOff: l.whhOff}}
	dwhh, err := o.b.apply(whhGrad, o.name+".dW_hh", tensor.Shape{l.h, l.g}, dg)
	if err != nil {
		return nil, err
	}
	dbih, err := o.b.apply(&biasGradOp{n: nt, out: l.g, bOff: l.bihOff}, o.name+".db_ih", tensor.Shape{l.g}, dg)
	if err != nil {
		return nil, err
	}
	dbhh, err := o.b.apply(&rnnBHHGradOp{l: l, b: biasGradOp{n: nt, out: l.g, bOff: l.bhhOff}}, o.name+".db_hh", tensor.Shape{l.g}, dg)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx, dwih, dwhh, dbih, dbhh}, nil
}
