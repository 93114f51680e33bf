package model

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// rnnArch is the recurrent language models, lstm and gru: a token
// embedding (no position table), one recurrent layer per Hidden entry
// (PyTorch's nn.LSTM / nn.GRU equations and gate orders, zero initial
// states for every window) and a linear head on every position:
//
//	embed.weight           (Classes, Embed)
//	lstm<i>.w_ih           (in, 4·H)    gates i, f, g, o
//	lstm<i>.w_hh           (H, 4·H)
//	lstm<i>.b_ih, .b_hh    (4·H)
//	gru<i>.w_ih            (in, 3·H)    gates r, z, n
//	gru<i>.w_hh            (H, 3·H)
//	gru<i>.b_ih, .b_hh     (3·H)
//	head.weight            (H_last, Classes)
//	head.bias              (Classes)
//
// with in = Embed for layer 0 and the previous layer's H after it. The
// weights are [in, out], the transposes of PyTorch's weight_ih_l<i> and
// weight_hh_l<i>; both biases are kept, as in PyTorch.
func rnnArch() arch {
	return arch{validate: validateRNN, layout: layoutRNN, init: initRNN, build: buildRNN}
}

// validateRNN checks the fields of lstm and gru (the shared ones, Hidden
// sizes included, are checked by validateFields).
func validateRNN(s Spec) error {
	switch {
	case len(s.Input) != 1:
		return fmt.Errorf("%w: Input %v, %s wants [context]", ErrSpec, s.Input, s.Kind)
	case s.Embed < 1 || s.Embed > MaxDim:
		return fmt.Errorf("%w: Embed = %d, want 1..%d", ErrSpec, s.Embed, MaxDim)
	case len(s.Hidden) == 0:
		return fmt.Errorf("%w: Hidden is empty, %s wants one width per recurrent layer", ErrSpec, s.Kind)
	case s.Layers != 0:
		return fmt.Errorf("%w: Layers = %d, %s takes its layers from Hidden (want 0)", ErrSpec, s.Layers, s.Kind)
	case s.Heads != 0:
		return fmt.Errorf("%w: Heads = %d, want 0 for %s", ErrSpec, s.Heads, s.Kind)
	case s.Bias:
		return fmt.Errorf("%w: Bias = true, want false for %s (its layers always have biases)", ErrSpec, s.Kind)
	case s.Dropout != 0:
		return fmt.Errorf("%w: Dropout = %v, want 0 for %s", ErrSpec, s.Dropout, s.Kind)
	case s.Loss != LossXent:
		return fmt.Errorf("%w: Loss %q, %s wants %q", ErrSpec, s.Loss, s.Kind, LossXent)
	}
	return nil
}

// rnnCellOf is the cell of a valid lstm or gru spec.
func rnnCellOf(s Spec) rnnCell {
	if s.Kind == KindGRU {
		return cellGRU
	}
	return cellLSTM
}

// layoutRNN adds the tensors in graph order (see rnnArch).
func layoutRNN(s Spec, add func(name string, shape ...int) error) error {
	if err := add("embed.weight", s.Classes, s.Embed); err != nil {
		return err
	}
	cell := rnnCellOf(s)
	in := s.Embed
	for i, h := range s.Hidden {
		g := cell.gates() * h
		p := fmt.Sprintf("%s%d.", s.Kind, i)
		for _, t := range []struct {
			name  string
			shape []int
		}{{"w_ih", []int{in, g}}, {"w_hh", []int{h, g}}, {"b_ih", []int{g}}, {"b_hh", []int{g}}} {
			if err := add(p+t.name, t.shape...); err != nil {
				return err
			}
		}
		in = h
	}
	if err := add("head.weight", in, s.Classes); err != nil {
		return err
	}
	return add("head.bias", s.Classes)
}

// initRNN is PyTorch's default initialization: the embedding N(0, 1),
// every recurrent weight and bias U(-1/√H, 1/√H) with H its layer's
// width, the head's weight and bias U(-1/√H_last, 1/√H_last) (nn.Linear's
// fan-in bound).
func initRNN(s Spec, _ []Tensor, t Tensor, dst []float32, rng *splitMix) {
	switch {
	case t.Name == "embed.weight":
		fillNormal(dst, 1, rng)
	case t.Name == "head.weight" || t.Name == "head.bias":
		fillUniform(dst, 1/math.Sqrt(float64(s.Hidden[len(s.Hidden)-1])), rng)
	default: // <kind><i>.*: the gate blocks are G·H wide
		h := t.Shape[len(t.Shape)-1] / rnnCellOf(s).gates()
		fillUniform(dst, 1/math.Sqrt(float64(h)), rng)
	}
}

// buildRNN adds the embedding of fn.x (n, t), the recurrent layers (one
// fused kernel each, over the whole sequence) and the head over the n·t
// rows (row r = sample r/t, position r%t).
func buildRNN(fn *fusedNet, s Spec, layout []Tensor, n, t int) (*G.Node, error) {
	emb := newEmbedOp(fn.b, n, t, s.Classes, s.Embed, s.Input[0], layout[0].Offset, -1)
	h, err := emb.apply("embed", fn.x, fn.params[0], nil)
	if err != nil {
		return nil, err
	}
	cell := rnnCellOf(s)
	in := s.Embed
	for i, hid := range s.Hidden {
		k := 1 + 4*i
		l := newRNNLayer(cell, n, t, in, hid, layout[k].Offset, layout[k+1].Offset, layout[k+2].Offset, layout[k+3].Offset)
		op := &rnnOp{b: fn.b, l: l}
		ps := fn.params[k : k+4]
		if h, err = fn.b.apply(op, fmt.Sprintf("%s%d", s.Kind, i), tensor.Shape{n * t, hid}, h, ps[0], ps[1], ps[2], ps[3]); err != nil {
			return nil, err
		}
		in = hid
	}
	k := len(layout) - 2
	head := &denseOp{b: fn.b, n: n * t, in: in, out: s.Classes, wOff: layout[k].Offset, bOff: layout[k+1].Offset}
	return fn.b.apply(head, "head", tensor.Shape{n * t, s.Classes}, h, fn.params[k], fn.params[k+1])
}
