package model

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// trainGraph is the forward+backward graph for a fixed batch size.
type trainGraph struct {
	net     *net
	tbuf    []float32 // (batch, Classes) targets, read in place
	vm      G.VM
	lossVal G.Value // filled by a Read instruction on every run
}

// newTrainGraph builds spec's network for batch samples, the loss node and
// its symbolic gradient with respect to every parameter.
func newTrainGraph(spec Spec, layout []Tensor, params []float32, batch int) (*trainGraph, error) {
	tg := &trainGraph{tbuf: make([]float32, batch*spec.Classes)}
	err := guardBuild("building the training graph", func() error {
		nt, err := buildNet(spec, layout, params, batch)
		if err != nil {
			return err
		}
		tg.net = nt
		tv := tensor.New(tensor.WithShape(batch, spec.Classes), tensor.WithBacking(tg.tbuf))
		target := G.NewMatrix(nt.g, tensor.Float32, G.WithShape(batch, spec.Classes), G.WithName("target"), G.WithValue(tv))
		loss, err := lossNode(spec.Loss, nt.logits, target)
		if err != nil {
			return fmt.Errorf("loss: %w", err)
		}
		if _, err := G.Grad(loss, nt.params...); err != nil {
			return fmt.Errorf("gradient: %w", err)
		}
		G.Read(loss, &tg.lossVal)
		tg.vm = G.NewTapeMachine(nt.g, G.BindDualValues(nt.params...))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return tg, nil
}

// lossNode is the mean loss over the batch as a scalar node.
//
//	xent: -Σ logsoftmax(logits) ⊙ target, with target = onehot/batch
//	mse:  mean((logits - target)²), with target = onehot
//
// (see fillTargets: the 1/batch of xent is folded into the targets).
func lossNode(loss string, logits, target *G.Node) (*G.Node, error) {
	switch loss {
	case LossXent:
		logp, err := G.LogSoftMax(logits, 1)
		if err != nil {
			return nil, err
		}
		prod, err := G.HadamardProd(logp, target)
		if err != nil {
			return nil, err
		}
		sum, err := G.Sum(prod)
		if err != nil {
			return nil, err
		}
		return G.Neg(sum)
	case LossMSE:
		diff, err := G.Sub(logits, target)
		if err != nil {
			return nil, err
		}
		sq, err := G.Square(diff)
		if err != nil {
			return nil, err
		}
		return G.Mean(sq)
	default:
		return nil, fmt.Errorf("%w: Loss %q", ErrSpec, loss)
	}
}

// fillTargets writes the target matrix for labels y (already checked to be
// in range): one-hot rows, scaled by 1/batch for xent.
func fillTargets(dst []float32, y []int32, classes int, loss string) {
	clear(dst)
	v := float32(1)
	if loss == LossXent {
		v = 1 / float32(len(y))
	}
	for i, c := range y {
		dst[i*classes+int(c)] = v
	}
}

// step runs forward and backward on one batch (lengths and labels already
// checked), overwrites grads with the gradient of the mean loss and
// returns the mean loss.
func (tg *trainGraph) step(spec Spec, layout []Tensor, x []float32, y []int32, grads []float32) (float32, error) {
	copy(tg.net.xbuf, x)
	fillTargets(tg.tbuf, y, spec.Classes, spec.Loss)

	// The TapeMachine adds each step's gradient into the parameters' dual
	// values (dv.d += grad); zero them so a step overwrites. Before the
	// first run they do not exist yet (Grad returns an error or a nil
	// value) and are created zeroed.
	for _, p := range tg.net.params {
		if gv, err := p.Grad(); err == nil && gv != nil {
			if d, ok := gv.Data().([]float32); ok {
				clear(d)
			}
		}
	}
	err := guard("forward/backward", tg.vm.RunAll)
	tg.vm.Reset()
	if err != nil {
		return 0, err
	}

	for i, p := range tg.net.params {
		t := layout[i]
		gv, err := p.Grad()
		if err != nil {
			return 0, fmt.Errorf("%w: no gradient for %s: %w", ErrBackend, t.Name, err)
		}
		if gv == nil {
			return 0, fmt.Errorf("%w: no gradient for %s", ErrBackend, t.Name)
		}
		d, ok := gv.Data().([]float32)
		if !ok || len(d) != t.Size() {
			return 0, fmt.Errorf("%w: gradient of %s is %T of %d values, want %d float32", ErrBackend, t.Name, gv.Data(), len(d), t.Size())
		}
		copy(grads[t.Offset:t.Offset+len(d)], d)
	}
	return scalarOf(tg.lossVal)
}

// scalarOf extracts a float32 scalar from a gorgonia value.
func scalarOf(v G.Value) (float32, error) {
	if v == nil {
		return 0, fmt.Errorf("%w: loss was not read", ErrBackend)
	}
	switch d := v.Data().(type) {
	case float32:
		return d, nil
	case []float32:
		if len(d) == 1 {
			return d[0], nil
		}
	}
	return 0, fmt.Errorf("%w: loss is %T, want a float32 scalar", ErrBackend, v.Data())
}

// close releases the tape machine.
func (tg *trainGraph) close() error {
	return guard("closing the training machine", tg.vm.Close)
}
