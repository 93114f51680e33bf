package model

// rnnBackOp is a recurrent layer's backward pass through time: from its
// output h (n·t, h), the gradient of h and W_hh it computes dG, the
// gradients of the gates' pre-activations (see rnnLayer.dgRows), which
// the parameter and input gradients are GEMMs and sums over. It also
// fills the layer's h_prev matrix for dW_hh.
type rnnBackOp struct {
	opBase
	l *rnnLayer
}

func (o *rnnBackOp) run(_ *runCtx, dg []float32, in [][]float32, _ bool) {
	l := o.l
	out, dy, whh := in[0], in[1], in[2]
	h, t := l.h, l.t
	for i := range l.n { // row i·t+s of hp is h_{s-1}; step 0's rows stay zero
		copy(l.hp[(i*t+1)*h:(i+1)*t*h], out[i*t*h:((i+1)*t-1)*h])
	}
	if l.cell == cellGRU {
		l.gruBack(out, dy, whh, dg)
	} else {
		l.lstmBack(dy, whh, dg)
	}
}

// rnnWHHGradOp is dW_hh = h_prevᵀ·dG (the recurrent side's dG), one GEMM
// over all rows, chunked at bucket boundaries like a dense layer's dW.
type rnnWHHGradOp struct {
	opBase
	l    *rnnLayer
	w    denseWGradOp
	args [2][]float32
}

func (o *rnnWHHGradOp) run(c *runCtx, dw []float32, in [][]float32, acc bool) {
	o.args[0], o.args[1] = o.l.hp, o.l.dgh(in[0])
	o.w.run(c, dw, o.args[:], acc)
}

// rnnBHHGradOp is db_hh: the sum over the rows of the recurrent side's
// dG.
type rnnBHHGradOp struct {
	opBase
	l    *rnnLayer
	b    biasGradOp
	args [1][]float32
}

func (o *rnnBHHGradOp) run(c *runCtx, db []float32, in [][]float32, acc bool) {
	o.args[0] = o.l.dgh(in[0])
	o.b.run(c, db, o.args[:], acc)
}
