package model

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// net is the forward network of one spec for a fixed number of samples,
// built in its own gorgonia graph. Parameter nodes are views of the shared
// flat parameter buffer; the input node is a view of xbuf, which the owner
// fills before each run.
type net struct {
	g      *G.ExprGraph
	spec   Spec      // validated
	n      int       // samples per run
	xbuf   []float32 // n*InputSize input values, read in place
	params []*G.Node // one per layout tensor, same order
	logits *G.Node   // (n, Classes)
}

// buildNet builds the forward graph of spec for n samples with the
// parameters read in place from params (len = the layout total).
func buildNet(spec Spec, layout []Tensor, params []float32, n int) (*net, error) {
	nt := &net{
		g:    G.NewGraph(),
		n:    n,
		xbuf: make([]float32, n*spec.InputSize()),
		spec: spec,
	}
	for _, t := range layout {
		shape := append([]int(nil), t.Shape...)
		v := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(params[t.Offset:t.Offset+t.Size()]))
		node := G.NewTensor(nt.g, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(t.Name), G.WithValue(v))
		nt.params = append(nt.params, node)
	}

	xShape := []int{n, spec.InputSize()}
	if spec.Kind == KindCNN {
		xShape = []int{n, spec.Input[0], spec.Input[1], spec.Input[2]}
	}
	xv := tensor.New(tensor.WithShape(xShape...), tensor.WithBacking(nt.xbuf))
	x := G.NewTensor(nt.g, tensor.Float32, len(xShape), G.WithShape(xShape...), G.WithName("x"), G.WithValue(xv))

	h := x
	fc := nt.params
	if spec.Kind == KindCNN {
		var err error
		if h, err = nt.convStack(x); err != nil {
			return nil, err
		}
		fc = nt.params[4:]
	}
	for i := 0; i < len(fc); i += 2 {
		last := i+2 == len(fc)
		var err error
		if h, err = linear(h, fc[i], fc[i+1], !last); err != nil {
			return nil, fmt.Errorf("fc%d: %w", i/2, err)
		}
	}
	nt.logits = h
	return nt, nil
}

// linear is h·W + b, followed by ReLU when relu is set.
func linear(h, w, b *G.Node, relu bool) (*G.Node, error) {
	out, err := G.Mul(h, w)
	if err != nil {
		return nil, err
	}
	if out, err = G.BroadcastAdd(out, b, nil, []byte{0}); err != nil {
		return nil, err
	}
	if relu {
		return G.Rectify(out)
	}
	return out, nil
}

// convStack is conv5x5(6, pad 2) → ReLU → maxpool2 → conv5x5(16) → ReLU →
// maxpool2 → flatten, on x of shape (n, C, H, W).
func (nt *net) convStack(x *G.Node) (*G.Node, error) {
	h, err := convBlock(x, nt.params[0], nt.params[1], cnnConv0Pad)
	if err != nil {
		return nil, fmt.Errorf("conv0: %w", err)
	}
	if h, err = convBlock(h, nt.params[2], nt.params[3], 0); err != nil {
		return nil, fmt.Errorf("conv1: %w", err)
	}
	g := cnnGeometryOf(nt.spec)
	return G.Reshape(h, tensor.Shape{nt.n, cnnConv1Out * g.pool1H * g.pool1W})
}

// convBlock is conv(w, pad) + b → ReLU → maxpool 2x2 stride 2.
func convBlock(h, w, b *G.Node, pad int) (*G.Node, error) {
	h, err := G.Conv2d(h, w, tensor.Shape{cnnKernel, cnnKernel}, []int{pad, pad}, []int{1, 1}, []int{1, 1})
	if err != nil {
		return nil, err
	}
	if h, err = G.BroadcastAdd(h, b, nil, []byte{0, 2, 3}); err != nil {
		return nil, err
	}
	if h, err = G.Rectify(h); err != nil {
		return nil, err
	}
	return G.MaxPool2D(h, tensor.Shape{cnnPool, cnnPool}, []int{0, 0}, []int{cnnPool, cnnPool})
}
