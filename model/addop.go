package model

import (
	"fmt"
	"strings"

	G "gorgonia.org/gorgonia"
)

// addKernel runs a node of gorgonia's Add that G.Grad created to sum two
// gradients of the same shape: out = a + b, added into out when the pass
// accumulates into a parameter gradient, which it then announces final.
type addKernel struct {
	opBase
	rng Range // the parameter gradient's range; empty for an intermediate sum
}

// isAdd reports whether n is gorgonia's elementwise addition (its op
// prints as "+ false": the operator and whether it returns a boolean).
func isAdd(n *G.Node) bool {
	if n.Op() == nil || n.Op().Arity() != 2 {
		return false
	}
	s := n.Op().String()
	return s == "+" || strings.HasPrefix(s, "+ ")
}

// newAddKernel wraps Add node n (children read from graph g).
func newAddKernel(g *G.ExprGraph, n *G.Node, rng Range) (*applied, bool) {
	var children []*G.Node
	for it := g.From(n.ID()); it.Next(); {
		c, ok := it.Node().(*G.Node)
		if !ok {
			return nil, false
		}
		children = append(children, c)
	}
	if len(children) != 2 || !children[0].Shape().Eq(n.Shape()) || !children[1].Shape().Eq(n.Shape()) {
		return nil, false
	}
	k := &addKernel{rng: rng}
	k.name = fmt.Sprintf("add#%d", n.ID())
	return &applied{k: k, children: children}, true
}

func (k *addKernel) run(c *runCtx, out []float32, in [][]float32, acc bool) {
	a, b := in[0][:len(out)], in[1][:len(out)]
	if acc {
		for i := range out {
			out[i] += a[i] + b[i]
		}
	} else {
		for i := range out {
			out[i] = a[i] + b[i]
		}
	}
	c.gradsReady(k.rng.Lo, k.rng.Hi)
}
