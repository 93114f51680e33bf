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
}

// compile orders the kernels that the outputs need (depth first, children
// in order, so a gradient is computed as soon as its inputs exist) and
// gives every node a buffer: fixed ones for the inputs (and for outputs
// that must land in a caller's buffer, e.g. gradients), a new one for
// every other kernel. A node that is neither a kernel, fixed, nor a
// scalar constant is an error.
func compile(b *builder, outputs []*G.Node, fixed map[*G.Node][]float32) (*program, error) {
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
		st := progStep{k: a.k}
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
		s.k.run(&p.ctx, s.out, s.in, acc)
	}
}
