package model

import (
	"fmt"
	"math"
	"strings"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The decoder-only transformer (Kind "transformer"), nanoGPT's GPT as in
// bench/char_gpt.py:
//
//	x = tok[ids] + pos[0..t-1]                        (dropout)
//	per block:  x = x + proj(attn(ln1(x)))            (dropout on the
//	            x = x + mlp.proj(GELU(mlp.fc(ln2(x))))  weights and both outputs)
//	logits = lnf(x)·tokᵀ                              (the head is tied)
//
// with causal multi-head attention scaled by 1/sqrt(Embed/Heads), the exact
// (erf) GELU and LayerNorm with eps 1e-5 and the biased variance. Linear
// weights are (in, out) like the fc layers'; Bias adds biases to the linear
// layers and the LayerNorms. Dropout (Spec.Dropout) is active in training
// programs only.

// maxLayers bounds Spec.Layers, so that a bad Spec cannot ask for
// millions of tiny tensors before MaxParams stops it.
const maxLayers = 1 << 12

// transformerArch is the decoder-only transformer (see Spec).
func transformerArch() arch {
	return arch{validate: validateTransformer, layout: layoutTransformer, init: initTransformer, build: buildTransformer}
}

// validateTransformer checks the transformer's fields.
func validateTransformer(s Spec) error {
	switch {
	case len(s.Input) != 1:
		return fmt.Errorf("%w: Input %v, transformer wants [context]", ErrSpec, s.Input)
	case len(s.Hidden) != 0:
		return fmt.Errorf("%w: Hidden %v, transformer has none (its MLP is 4·Embed wide)", ErrSpec, s.Hidden)
	case s.Loss != LossXent:
		return fmt.Errorf("%w: Loss %q, transformer wants %q", ErrSpec, s.Loss, LossXent)
	case s.Embed < 1 || s.Embed > MaxDim:
		return fmt.Errorf("%w: Embed = %d, want 1..%d", ErrSpec, s.Embed, MaxDim)
	case s.Layers < 1 || s.Layers > maxLayers:
		return fmt.Errorf("%w: Layers = %d, want 1..%d", ErrSpec, s.Layers, maxLayers)
	case s.Heads < 1 || s.Heads > s.Embed:
		return fmt.Errorf("%w: Heads = %d, want 1..%d (Embed)", ErrSpec, s.Heads, s.Embed)
	case s.Embed%s.Heads != 0:
		return fmt.Errorf("%w: Heads = %d does not divide Embed = %d", ErrSpec, s.Heads, s.Embed)
	case !(s.Dropout >= 0 && s.Dropout < 1):
		return fmt.Errorf("%w: Dropout = %v, want 0 <= Dropout < 1", ErrSpec, s.Dropout)
	}
	return nil
}

// layoutTransformer adds the transformer's tensors in graph order:
// tok.weight (vocab, C), pos.weight (context, C), per block i
// block{i}.ln1, .attn.qkv (C, 3C), .attn.proj (C, C), .ln2, .mlp.fc (C,
// 4C), .mlp.proj (4C, C) (each .weight, and .bias with Bias), then lnf.
// The names are part of checkpoints.
func layoutTransformer(s Spec, add func(name string, shape ...int) error) error {
	c := s.Embed
	type tensorSpec struct {
		name  string
		shape []int
	}
	var ts []tensorSpec
	ln := func(name string) {
		ts = append(ts, tensorSpec{name + ".weight", []int{c}})
		if s.Bias {
			ts = append(ts, tensorSpec{name + ".bias", []int{c}})
		}
	}
	lin := func(name string, in, out int) {
		ts = append(ts, tensorSpec{name + ".weight", []int{in, out}})
		if s.Bias {
			ts = append(ts, tensorSpec{name + ".bias", []int{out}})
		}
	}
	ts = append(ts, tensorSpec{"tok.weight", []int{s.Classes, c}}, tensorSpec{"pos.weight", []int{s.Input[0], c}})
	for i := range s.Layers {
		b := fmt.Sprintf("block%d.", i)
		ln(b + "ln1")
		lin(b+"attn.qkv", c, 3*c)
		lin(b+"attn.proj", c, c)
		ln(b + "ln2")
		lin(b+"mlp.fc", c, 4*c)
		lin(b+"mlp.proj", 4*c, c)
	}
	ln("lnf")
	for _, t := range ts {
		if err := add(t.name, t.shape...); err != nil {
			return err
		}
	}
	return nil
}

// initTransformer initializes a tensor as nanoGPT does: linear weights and
// both embeddings N(0, 0.02²), the residual projections (attn.proj,
// mlp.proj) N(0, (0.02/sqrt(2·Layers))²), biases 0, LayerNorm weights 1.
func initTransformer(s Spec, _ []Tensor, t Tensor, dst []float32, rng *splitMix) {
	const std = 0.02
	switch {
	case strings.HasSuffix(t.Name, ".bias"):
		clear(dst)
	case len(t.Shape) == 1: // a LayerNorm weight
		for i := range dst {
			dst[i] = 1
		}
	case strings.HasSuffix(t.Name, "proj.weight"):
		fillNormal(dst, std/math.Sqrt(2*float64(s.Layers)), rng)
	default:
		fillNormal(dst, std, rng)
	}
}

// tfmParams hands out the layout's tensors in order, checking their names
// (the layout and the network must agree).
type tfmParams struct {
	fn     *fusedNet
	layout []Tensor
	next   int
	bias   bool
}

// take returns the next tensor, which must be called name.
func (p *tfmParams) take(name string) (Tensor, *G.Node, error) {
	if p.next >= len(p.layout) || p.layout[p.next].Name != name {
		return Tensor{}, nil, fmt.Errorf("%w: transformer layout has no %s at tensor %d", ErrBackend, name, p.next)
	}
	p.next++
	return p.layout[p.next-1], p.fn.params[p.next-1], nil
}

// takeWB returns name.weight and, with biases, name.bias (else nil).
func (p *tfmParams) takeWB(name string) (w Tensor, wn *G.Node, b *Tensor, bn *G.Node, err error) {
	if w, wn, err = p.take(name + ".weight"); err != nil || !p.bias {
		return w, wn, nil, nil, err
	}
	bt, bn, err := p.take(name + ".bias")
	return w, wn, &bt, bn, err
}

// layerNorm adds the LayerNorm name over x's n rows.
func (p *tfmParams) layerNorm(name string, x *G.Node, n, dim int) (*G.Node, error) {
	w, wn, b, bn, err := p.takeWB(name)
	if err != nil {
		return nil, err
	}
	bOff := -1
	if b != nil {
		bOff = b.Offset
	}
	return newLayerNormOp(p.fn.b, n, dim, w.Offset, bOff).apply(name, x, wn, bn)
}

// linear adds the linear layer name over x's n rows.
func (p *tfmParams) linear(name string, x *G.Node, n int, gelu bool) (*G.Node, error) {
	w, wn, b, bn, err := p.takeWB(name)
	if err != nil {
		return nil, err
	}
	return p.fn.linear(name, x, n, w, wn, b, bn, gelu)
}

// buildTransformer builds the network for n samples of t positions (t <=
// the context) on fn.x's token ids: logits (n·t, Classes).
func buildTransformer(fn *fusedNet, s Spec, layout []Tensor, n, t int) (*G.Node, error) {
	if t < 1 || t > s.Input[0] {
		return nil, fmt.Errorf("%w: %d positions, want 1..%d (the context)", ErrInput, t, s.Input[0])
	}
	if fn.train && !fitsProduct(MaxInputElems, n, s.Heads, t, t) {
		return nil, fmt.Errorf("%w: the attention weights of %d samples × %d heads × %d² positions exceed %d values", ErrInput, n, s.Heads, t, MaxInputElems)
	}
	c, rows := s.Embed, n*t
	p := &tfmParams{fn: fn, layout: layout, bias: s.Bias}
	tok, tokN, err := p.take("tok.weight")
	if err != nil {
		return nil, err
	}
	pos, posN, err := p.take("pos.weight")
	if err != nil {
		return nil, err
	}
	x, err := newEmbedOp(fn.b, n, t, s.Classes, c, s.Input[0], tok.Offset, pos.Offset).apply("embed", fn.x, tokN, posN)
	if err != nil {
		return nil, err
	}
	if x, err = fn.dropout(x, "embed.drop", s.Dropout); err != nil {
		return nil, err
	}
	for i := range s.Layers {
		if x, err = p.block(fmt.Sprintf("block%d.", i), x, s, n, t); err != nil {
			return nil, err
		}
	}
	h, err := p.layerNorm("lnf", x, rows, c)
	if err != nil {
		return nil, err
	}
	if p.next != len(layout) {
		return nil, fmt.Errorf("%w: transformer used %d of %d layout tensors", ErrBackend, p.next, len(layout))
	}
	head := &headOp{b: fn.b, n: rows, dim: c, vocab: s.Classes, eOff: tok.Offset}
	return fn.b.apply(head, "head", tensor.Shape{rows, s.Classes}, h, tokN)
}

// block adds one transformer block (names prefixed by pre) on x.
func (p *tfmParams) block(pre string, x *G.Node, s Spec, n, t int) (*G.Node, error) {
	fn, c, rows := p.fn, s.Embed, n*t
	h, err := p.layerNorm(pre+"ln1", x, rows, c)
	if err != nil {
		return nil, err
	}
	if h, err = p.linear(pre+"attn.qkv", h, rows, false); err != nil {
		return nil, err
	}
	att := newAttentionOp(fn.b, n, t, s.Heads, c, fn.train, s.Dropout)
	if h, err = fn.b.apply(att, pre+"attn", tensor.Shape{rows, c}, h); err != nil {
		return nil, err
	}
	if h, err = p.linear(pre+"attn.proj", h, rows, false); err != nil {
		return nil, err
	}
	if h, err = fn.dropout(h, pre+"attn.drop", s.Dropout); err != nil {
		return nil, err
	}
	if x, err = fn.b.apply(&residualOp{}, pre+"res1", tensor.Shape{rows, c}, x, h); err != nil {
		return nil, err
	}
	if h, err = p.layerNorm(pre+"ln2", x, rows, c); err != nil {
		return nil, err
	}
	if h, err = p.linear(pre+"mlp.fc", h, rows, true); err != nil {
		return nil, err
	}
	if h, err = p.linear(pre+"mlp.proj", h, rows, false); err != nil {
		return nil, err
	}
	if h, err = fn.dropout(h, pre+"mlp.drop", s.Dropout); err != nil {
		return nil, err
	}
	return fn.b.apply(&residualOp{}, pre+"res2", tensor.Shape{rows, c}, x, h)
}

// fitsProduct reports whether the product of the positive sizes is at most
// limit (without overflowing).
func fitsProduct(limit int, sizes ...int) bool {
	p := 1
	for _, d := range sizes {
		if d > limit/p {
			return false
		}
		p *= d
	}
	return p <= limit
}
