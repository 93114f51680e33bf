package model

import (
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// headOp is the output layer tied to the token embedding: logits = h·Eᵀ
// for h (n, dim) and E (vocab, dim), logits (n, vocab). E's gradient from
// here is one term of its sum with the embedding's (gorgonia's Add).
type headOp struct {
	opBase
	b             *builder
	n, dim, vocab int
	eOff          int // flat offset of E
}

func (o *headOp) run(c *runCtx, logits []float32, in [][]float32, _ bool) {
	h, e := in[0], in[1]
	c.waitParams(o.eOff, o.eOff+o.vocab*o.dim)
	gemm(false, true, o.n, o.vocab, o.dim, h, o.dim, e, o.dim, 0, logits, o.vocab)
}

func (o *headOp) DiffWRT(int) []bool { return []bool{true, true} }

// SymDiff: dh = g·E and dE = gᵀ·h.
func (o *headOp) SymDiff(inputs G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	h, e := inputs[0], inputs[1]
	dh, err := o.b.apply(&headXGradOp{fwd: o}, o.name+".dx", tensor.Shape{o.n, o.dim}, grad, e)
	if err != nil {
		return nil, err
	}
	de, err := o.b.apply(&headEGradOp{fwd: o}, o.name+".dE", tensor.Shape{o.vocab, o.dim}, grad, h)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dh, de}, nil
}

// headXGradOp is dh = g·E.
type headXGradOp struct {
	opBase
	fwd *headOp
}

func (op *headXGradOp) run(_ *runCtx, dh []float32, in [][]float32, _ bool) {
	o, g, e := op.fwd, in[0], in[1]
	gemm(false, false, o.n, o.dim, o.vocab, g, o.vocab, e, o.dim, 0, dh, o.dim)
}

// headEGradOp is dE = gᵀ·h, added into dE when the pass accumulates.
type headEGradOp struct {
	opBase
	fwd *headOp
}

func (op *headEGradOp) run(c *runCtx, de []float32, in [][]float32, acc bool) {
	o, g, h := op.fwd, in[0], in[1]
	var beta float32
	if acc {
		beta = 1
	}
	gemm(true, false, o.vocab, o.dim, o.n, g, o.vocab, h, o.dim, beta, de, o.dim)
	c.gradsReady(o.eOff, o.eOff+o.vocab*o.dim)
}
