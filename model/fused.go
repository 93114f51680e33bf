package model

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// fusedNet is spec's network for n samples as a gorgonia graph of fused
// kernels (dense and conv blocks), parameters read in place from the flat
// buffer, the input from xbuf.
type fusedNet struct {
	b      *builder
	n      int
	train  bool // a training program (dropout active), not an eval one
	xbuf   []float32
	x      *G.Node
	params []*G.Node // one per layout tensor
	logits *G.Node
}

func buildFused(spec Spec, layout []Tensor, params []float32, n, t int, train bool) (*fusedNet, error) {
	a, err := archOf(spec.Kind)
	if err != nil {
		return nil, err
	}
	xShape := []int{n, spec.InputSize()}
	switch {
	case spec.Sequence():
		xShape = []int{n, t}
	case spec.Kind == KindCNN:
		xShape = []int{n, spec.Input[0], spec.Input[1], spec.Input[2]}
	}
	fn := &fusedNet{b: newBuilder(), n: n, train: train, xbuf: make([]float32, sizeOf(xShape))}
	g := fn.b.g
	for _, t := range layout {
		v := tensor.New(tensor.WithShape(t.Shape...), tensor.WithBacking(params[t.Offset:t.Offset+t.Size()]))
		fn.params = append(fn.params, G.NewTensor(g, tensor.Float32, len(t.Shape), G.WithShape(t.Shape...), G.WithName(t.Name), G.WithValue(v)))
	}
	xv := tensor.New(tensor.WithShape(xShape...), tensor.WithBacking(fn.xbuf))
	fn.x = G.NewTensor(g, tensor.Float32, len(xShape), G.WithShape(xShape...), G.WithName("x"), G.WithValue(xv))
	if fn.logits, err = a.build(fn, spec, layout, n, t); err != nil {
		return nil, err
	}
	return fn, nil
}

// buildFF builds the feed-forward kinds: the conv blocks (cnn), then the
// dense layers.
func buildFF(fn *fusedNet, spec Spec, layout []Tensor, n, _ int) (*G.Node, error) {
	h, in := fn.x, spec.InputSize()
	fc := 0
	if spec.Kind == KindCNN {
		c, hh, ww := spec.Input[0], spec.Input[1], spec.Input[2]
		// The blocks pass their tensors in CHWN between them (convOp).
		for i, conv := range []struct{ out, pad int }{{cnnConv0Out, cnnConv0Pad}, {cnnConv1Out, 0}} {
			w, b := layout[2*i], layout[2*i+1]
			op := newConvOp(fn.b, n, c, hh, ww, conv.out, cnnKernel, conv.pad, w.Offset, b.Offset, i > 0, i == 0)
			var err error
			if h, err = fn.b.apply(op, fmt.Sprintf("conv%d", i), op.outShape(), h, fn.params[2*i], fn.params[2*i+1]); err != nil {
				return nil, err
			}
			c, hh, ww = conv.out, op.ph, op.pw
		}
		in, fc = c*hh*ww, 4
	}
	for i := fc; i < len(layout); i += 2 {
		w, b := layout[i], layout[i+1]
		out := w.Shape[1]
		op := &denseOp{b: fn.b, n: n, in: in, out: out, relu: i+2 < len(layout), wOff: w.Offset, bOff: b.Offset}
		var err error
		if h, err = fn.b.apply(op, fmt.Sprintf("fc%d", (i-fc)/2), tensor.Shape{n, out}, h, fn.params[i], fn.params[i+1]); err != nil {
			return nil, err
		}
		in = out
	}
	return h, nil
}

// fixedInputs are the buffers of the graph's input nodes.
func (fn *fusedNet) fixedInputs(layout []Tensor, params []float32) map[*G.Node][]float32 {
	m := map[*G.Node][]float32{fn.x: fn.xbuf}
	for i, t := range layout {
		m[fn.params[i]] = params[t.Offset : t.Offset+t.Size()]
	}
	return m
}

// fusedTrain is the training pass: forward, loss and gorgonia's symbolic
// gradient of the fused graph, compiled into one program whose parameter
// gradients are written straight into the model's flat Grads.
type fusedTrain struct {
	net  *fusedNet
	tbuf []float32
	prog *program
	loss []float32
}

func newFusedTrain(spec Spec, layout []Tensor, params, grads []float32, batch int) (*fusedTrain, error) {
	rows := batch * spec.Targets() // one row of logits per label
	ft := &fusedTrain{tbuf: make([]float32, rows*spec.Classes)}
	err := guardBuild("building the training program", func() error {
		fn, err := buildFused(spec, layout, params, batch, spec.Targets(), true)
		if err != nil {
			return err
		}
		ft.net = fn
		g := fn.b.g
		tv := tensor.New(tensor.WithShape(rows, spec.Classes), tensor.WithBacking(ft.tbuf))
		target := G.NewMatrix(g, tensor.Float32, G.WithShape(rows, spec.Classes), G.WithName("target"), G.WithValue(tv))
		lop := &lossOp{b: fn.b, kind: spec.Loss, n: rows, classes: spec.Classes, prob: make([]float32, rows*spec.Classes)}
		loss, err := fn.b.apply(lop, "loss", nil, fn.logits, target)
		if err != nil {
			return err
		}
		dparams, err := G.Grad(loss, fn.params...)
		if err != nil {
			return fmt.Errorf("gradient: %w", err)
		}
		fixed := fn.fixedInputs(layout, params)
		fixed[target] = ft.tbuf
		ranges := make(map[*G.Node]Range, len(layout))
		for i, t := range layout {
			fixed[dparams[i]] = grads[t.Offset : t.Offset+t.Size()]
			ranges[dparams[i]] = Range{t.Offset, t.Offset + t.Size()}
		}
		// Gradients in reverse layer order: backward reaches the last
		// layer's first.
		outs := []*G.Node{loss}
		for i := len(dparams) - 1; i >= 0; i-- {
			outs = append(outs, dparams[i])
		}
		if ft.prog, err = compile(fn.b, outs, fixed, ranges); err != nil {
			return err
		}
		ft.loss = ft.prog.bufs[loss]
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ft, nil
}

// fusedEval is a forward-only program for a fixed number of samples.
type fusedEval struct {
	net    *fusedNet
	prog   *program
	logits []float32
}

// newFusedEval builds it for n samples of t positions (a sequence model's
// context or shorter; 1 for the others).
func newFusedEval(spec Spec, layout []Tensor, params []float32, n, t int) (*fusedEval, error) {
	fe := &fusedEval{}
	err := guardBuild(fmt.Sprintf("building the eval program for %d samples", n), func() error {
		fn, err := buildFused(spec, layout, params, n, t, false)
		if err != nil {
			return err
		}
		fe.net = fn
		if fe.prog, err = compile(fn.b, []*G.Node{fn.logits}, fn.fixedInputs(layout, params), nil); err != nil {
			return err
		}
		fe.prog.ctx.setBounds([]int{0, len(params)})
		fe.logits = fe.prog.bufs[fn.logits]
		return nil
	})
	if err != nil {
		return nil, err
	}
	return fe, nil
}

// forward runs the program on x (at most n samples; the rest is zero
// padding) and returns the logits of all n rows.
func (fe *fusedEval) forward(x []float32) ([]float32, error) {
	copy(fe.net.xbuf, x)
	clear(fe.net.xbuf[len(x):])
	fe.prog.ctx.reset(Hooks{}, 1)
	if err := guard("forward", func() error { fe.prog.run(false); return nil }); err != nil {
		return nil, err
	}
	return fe.logits, nil
}

func (fe *fusedEval) close() error { return nil }
