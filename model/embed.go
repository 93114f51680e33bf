package model

import (
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// embedOp looks up token embeddings: out[r] = E[x[r]] (+ P[r mod t] with
// a position table) for the n·t token ids of x (float32 integers, checked
// by the Model) and E (vocab, dim), P (context, dim); out is (n·t, dim).
type embedOp struct {
	opBase
	b              *builder
	n, t, dim      int
	eOff, pOff     int // flat offsets of E and P (pOff < 0: no P)
	vocab, context int
}

func newEmbedOp(b *builder, n, t, vocab, dim, context, eOff, pOff int) *embedOp {
	return &embedOp{b: b, n: n, t: t, dim: dim, eOff: eOff, pOff: pOff, vocab: vocab, context: context}
}

// apply adds the lookup of x in e (and p, when not nil) to the graph.
func (o *embedOp) apply(name string, x, e, p *G.Node) (*G.Node, error) {
	if p == nil {
		return o.b.apply(o, name, tensor.Shape{o.n * o.t, o.dim}, x, e)
	}
	return o.b.apply(o, name, tensor.Shape{o.n * o.t, o.dim}, x, e, p)
}

func (o *embedOp) run(c *runCtx, out []float32, in [][]float32, _ bool) {
	x, e := in[0], in[1]
	c.waitParams(o.eOff, o.eOff+o.vocab*o.dim)
	var p []float32
	if len(in) > 2 {
		p = in[2]
		c.waitParams(o.pOff, o.pOff+o.context*o.dim)
	}
	for r := range o.n * o.t {
		dst := out[r*o.dim : (r+1)*o.dim]
		tok := int(x[r])
		copy(dst, e[tok*o.dim:(tok+1)*o.dim])
		if p != nil {
			pos := p[(r%o.t)*o.dim : (r%o.t+1)*o.dim]
			for j := range dst {
				dst[j] += pos[j]
			}
		}
	}
}

func (o *embedOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := 1; i < n; i++ {
		d[i] = true
	}
	return d
}

// SymDiff: dE is the gradient rows added into their tokens' rows, dP the
// gradient rows summed per position; x has none.
func (o *embedOp) SymDiff(inputs G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	de, err := o.b.apply(&embedGradOp{fwd: o}, o.name+".dE", tensor.Shape{o.vocab, o.dim}, inputs[0], grad)
	if err != nil {
		return nil, err
	}
	out := G.Nodes{nil, de}
	if len(inputs) > 2 {
		dp, err := o.b.apply(&posGradOp{fwd: o}, o.name+".dP", tensor.Shape{o.context, o.dim}, grad)
		if err != nil {
			return nil, err
		}
		out = append(out, dp)
	}
	return out, nil
}

// embedGradOp is dE[v] = Σ over the rows r with x[r] = v of g[r], in row
// order (deterministic).
type embedGradOp struct {
	opBase
	fwd *embedOp
}

func (op *embedGradOp) run(c *runCtx, de []float32, in [][]float32, acc bool) {
	o, x, g := op.fwd, in[0], in[1]
	if !acc {
		clear(de)
	}
	for r := range o.n * o.t {
		tok := int(x[r])
		dst := de[tok*o.dim : (tok+1)*o.dim]
		for j, v := range g[r*o.dim : (r+1)*o.dim] {
			dst[j] += v
		}
	}
	c.gradsReady(o.eOff, o.eOff+o.vocab*o.dim)
}

// posGradOp is dP[p] = Σ over samples of g at position p; the positions
// from t on (a shorter program than the context) get 0.
type posGradOp struct {
	opBase
	fwd *embedOp
}

func (op *posGradOp) run(c *runCtx, dp []float32, in [][]float32, acc bool) {
	o, g := op.fwd, in[0]
	if !acc {
		clear(dp)
	}
	for r := range o.n * o.t {
		dst := dp[(r%o.t)*o.dim : (r%o.t+1)*o.dim]
		for j, v := range g[r*o.dim : (r+1)*o.dim] {
			dst[j] += v
		}
	}
	c.gradsReady(o.pOff, o.pOff+o.context*o.dim)
}
