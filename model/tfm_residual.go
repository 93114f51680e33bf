package model

import G "gorgonia.org/gorgonia"

// residualOp is out = a + b, a residual connection: its gradient passes
// unchanged to both inputs. The block input a is also read by the block's
// LayerNorm, so G.Grad sums its two gradients with gorgonia's Add.
type residualOp struct {
	opBase
}

func (o *residualOp) run(_ *runCtx, out []float32, in [][]float32, _ bool) {
	a, b := in[0][:len(out)], in[1][:len(out)]
	for i := range out {
		out[i] = a[i] + b[i]
	}
}

func (o *residualOp) DiffWRT(int) []bool { return []bool{true, true} }

// SymDiff returns the incoming gradient for both inputs.
func (o *residualOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	return G.Nodes{grad, grad}, nil
}
