package model

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// program is a fused graph compiled for execution: its kernels in
// dependency order, each with a buffer allocated once for its output.
// Running it allocates nothing.
type program struct {
	steps []progStep
	bufs  map[*G.Node][]float32
	ctx   runCtx
}

type progStep struct {
	k   kernel
	out []float32
	in  [][]float32
	// grad: out is a parameter gradient (a fixed output of the program):
	// the kernel accumulates into it when the pass does and announces it
	// final (gradsReady). Every other kernel overwrites its output, even
	// one that computes a contribution to a parameter's gradient (a tied
	// weight's, summed by gorgonia's Add).
	grad bool
}

// compile orders the kernels that the outputs need (depth first, children
// in order, so a gradient is computed as soon as its inputs exist) and
// gives every node a buffer: fixed ones for the inputs (and for outputs
// that must land in a caller's buffer, e.g. gradients), a new one for
// every other kernel. grads are the parameter gradients among the fixed
// nodes, with their ranges of the flat buffer. gorgonia's Add, which
// G.Grad uses to sum the gradients of a node read twice (a tied weight, a
// residual connection), runs as addKernel. A node that is none of these
// nor a scalar constant is an error.
func compile(b *builder, outputs []*G.Node, fixed map[*G.Node][]float32, grads map[*G.Node]Range) (*program, error) {
	p := &program{bufs: make(map[*G.Node][]float32)}
	for n, buf := range fixed {
		p.bufs[n] = buf
	}
	seen := make(map[*G.Node]bool)
	var visit func(n *G.Node) error
	visit = func(n *G.Node) error {
		if seen[n] {
			return nil
		}
		seen[n] = true
		a, ok := b.nodes[n]
		if !ok && isAdd(n) {
			a, ok = newAddKernel(b.g, n, grads[n])
		}
		if !ok {
			if _, ok := p.bufs[n]; ok {
				return nil
			}
			if v := n.Value(); v != nil && n.Op() != nil { // a constant, e.g. G.Grad's 1
				if f, ok := v.Data().(float32); ok {
					p.bufs[n] = []float32{f}
					return nil
				}
			}
			return fmt.Errorf("%w: node %v is neither a fused kernel nor an input", ErrBackend, n)
		}
		_, grad := grads[n]
		st := progStep{k: a.k, grad: grad}
		for _, c := range a.children {
			if err := visit(c); err != nil {
				return err
			}
			st.in = append(st.in, p.bufs[c])
		}
		out, ok := p.bufs[n]
		if !ok {
			out = make([]float32, sizeOf(n.Shape()))
			p.bufs[n] = out
		}
		if len(out) != sizeOf(n.Shape()) {
			return fmt.Errorf("%w: node %v has a buffer of %d values, shape %v", ErrBackend, n, len(out), n.Shape())
		}
		st.out = out
		p.steps = append(p.steps, st)
		return nil
	}
	for _, n := range outputs {
		if n == nil {
			return nil, fmt.Errorf("%w: no gradient node", ErrBackend)
		}
		if err := visit(n); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func sizeOf(s tensor.Shape) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// run executes every step; acc makes gradient kernels add into their
// outputs.
func (p *program) run(acc bool) {
	for i := range p.steps {
		s := &p.steps[i]
		p.ctx.grad = s.grad
		s.k.run(&p.ctx, s.out, s.in, acc && s.grad)
	}
	p.ctx.grad = false
}
