package model

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// buildLayers builds a network of kind layers. Every layer's node is (n,
// its per-sample size) in row-major (N, C, H, W) order, so flatten is no
// kernel at all; linear, layernorm and dropout are the transformer's
// kernels, conv2d, maxpool and the activations those of layers_*.go. A
// LeNet block (conv2d with stride 1 and a bias, relu, maxpool 2) is the
// cnn kind's fused convOp instead, so the cnn preset written as layers
// runs the same kernels.
func buildLayers(fn *fusedNet, s Spec, layout []Tensor, n, _ int) (*G.Node, error) {
	shapes, err := netShapes(s)
	if err != nil {
		return nil, err
	}
	index := make(map[string]int, len(layout))
	for i, t := range layout {
		index[t.Name] = i
	}
	h, in := fn.x, s.Input
	chwn := false // h is the previous LeNet block's output, in its CHWN layout
	for i := 0; i < len(s.Net); i++ {
		l := s.Net[i]
		name := fmt.Sprintf("layers.%d", i)
		if lenetBlock(s.Net, i) {
			// conv2d → relu → maxpool 2: the cnn kind's fused block
			// (convop.go), its assembly kernels and, between two blocks,
			// its CHWN layout.
			w, b := layout[index[name+".weight"]], layout[index[name+".bias"]]
			next := lenetBlock(s.Net, i+3)
			op := newConvOp(fn.b, n, in[0], in[1], in[2], l.Out, l.Kernel, l.Pad, w.Offset, b.Offset, chwn, next)
			if h, err = fn.b.apply(op, name, op.outShape(), h, fn.params[index[name+".weight"]], fn.params[index[name+".bias"]]); err != nil {
				return nil, err
			}
			i += 2
			in, chwn = shapes[i], next
			continue
		}
		chwn = false
		out := shapes[i]
		size := sizeOfInts(out)
		if size > MaxInputElems/n {
			return nil, fmt.Errorf("%w: layers[%d] (%s): %d samples of shape %v are more than %d values", ErrSpec, i, l.Type, n, out, MaxInputElems)
		}
		wi, hasW := index[name+".weight"]
		bi, hasB := index[name+".bias"]
		var w, bias *G.Node
		var bt *Tensor
		bOff := -1
		if hasW {
			w = fn.params[wi]
		}
		if hasB {
			bias, bt, bOff = fn.params[bi], &layout[bi], layout[bi].Offset
		}
		params := func(x *G.Node) []*G.Node {
			if bias == nil {
				return []*G.Node{x, w}
			}
			return []*G.Node{x, w, bias}
		}
		shape := tensor.Shape{n, size}
		switch l.Type {
		case LayerLinear:
			h, err = fn.linear(name, h, n, layout[wi], w, bt, bias, false)
		case LayerConv2D:
			op := newConv2DOp(fn.b, n, in, l, layout[wi].Offset, bOff)
			h, err = fn.b.apply(op, name, shape, params(h)...)
		case LayerMaxPool:
			op := newMaxPoolOp(fn.b, n, in, out, l)
			h, err = fn.b.apply(op, name, shape, h)
		case LayerReLU, LayerTanh, LayerGELU:
			op := &actOp{b: fn.b, kind: l.Type}
			if l.Type == LayerGELU && fn.train {
				op.deriv = make([]float32, n*size)
			}
			h, err = fn.b.apply(op, name, shape, h)
		case LayerDropout:
			h, err = fn.dropout(h, name, l.P)
		case LayerLayerNorm:
			dim := out[len(out)-1]
			op := &lnLayerOp{newLayerNormOp(fn.b, n*size/dim, dim, layout[wi].Offset, bOff)}
			h, err = fn.b.apply(op, name, shape, params(h)...)
		case LayerFlatten:
		case LayerEmbedding:
			op := newEmbedOp(fn.b, n, in[0], l.Vocab, l.Out, in[0], layout[wi].Offset, -1)
			h, err = op.apply(name, h, w, nil)
		default:
			err = fmt.Errorf("%w: layers[%d]: unknown type %q", ErrSpec, i, l.Type)
		}
		if err != nil {
			return nil, err
		}
		in = out
	}
	return h, nil
}

// lenetBlock reports whether net[i:i+3] is conv2d (stride 1, with bias) →
// relu → maxpool (size 2, stride 2), which runs as one fused convOp.
func lenetBlock(net []Layer, i int) bool {
	if i+2 >= len(net) {
		return false
	}
	c, r, p := net[i], net[i+1], net[i+2]
	return c.Type == LayerConv2D && c.stride() == 1 && !c.NoBias &&
		r.Type == LayerReLU && p.Type == LayerMaxPool && p.Size == 2 && p.stride() == 2
}

// actOp is an elementwise activation: relu, tanh or the exact GELU. In a
// training program GELU keeps GELU'(x) for the backward pass.
type actOp struct {
	opBase
	b     *builder
	kind  string
	deriv []float32 // gelu in training: GELU'(x)
}

func (o *actOp) run(_ *runCtx, y []float32, in [][]float32, _ bool) {
	x := in[0][:len(y)]
	switch o.kind {
	case LayerReLU:
		for i, v := range x {
			y[i] = max(v, 0)
		}
	case LayerTanh:
		for i, v := range x {
			y[i] = tanhf(v)
		}
	case LayerGELU:
		copy(y, x)
		geluSlice(y, o.deriv)
	}
}

func (o *actOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff: relu and tanh differentiate from their output, GELU from the
// kept derivative.
func (o *actOp) SymDiff(_ G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	var (
		d   *G.Node
		err error
	)
	if o.kind == LayerReLU {
		d, err = o.b.apply(&reluBackOp{}, o.name+"'", o.shape.Clone(), output, grad)
	} else {
		d, err = o.b.apply(&actBackOp{fwd: o}, o.name+"'", o.shape.Clone(), output, grad)
	}
	if err != nil {
		return nil, err
	}
	return G.Nodes{d}, nil
}

// actBackOp is dx = g·tanh'(x) = g·(1 - y²) or g·GELU'(x).
type actBackOp struct {
	opBase
	fwd *actOp
}

func (o *actBackOp) run(_ *runCtx, dx []float32, in [][]float32, _ bool) {
	y, g := in[0][:len(dx)], in[1][:len(dx)]
	if o.fwd.kind == LayerTanh {
		for i, v := range g {
			dx[i] = v * (1 - y[i]*y[i])
		}
		return
	}
	d := o.fwd.deriv[:len(dx)]
	for i, v := range g {
		dx[i] = v * d[i]
	}
}

// lnLayerOp is the transformer's LayerNorm over the last dimension of a
// layer's output, its node keeping the layer's (n, size) shape.
type lnLayerOp struct{ *layerNormOp }

// SymDiff is layerNormOp's with dx in the shape of x.
func (o *lnLayerOp) SymDiff(inputs G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	f := o.layerNormOp
	x, w := inputs[0], inputs[1]
	dx, err := f.b.apply(&lnXGradOp{fwd: f}, f.name+".dx", x.Shape().Clone(), x, w, grad)
	if err != nil {
		return nil, err
	}
	dw, err := f.b.apply(&lnWGradOp{fwd: f}, f.name+".dw", tensor.Shape{f.dim}, x, grad)
	if err != nil {
		return nil, err
	}
	out := G.Nodes{dx, dw}
	if len(inputs) > 2 {
		db, err := f.b.apply(&biasGradOp{n: f.n, out: f.dim, bOff: f.bOff}, f.name+".db", tensor.Shape{f.dim}, grad)
		if err != nil {
			return nil, err
		}
		out = append(out, db)
	}
	return out, nil
}
