package model

import (
	"fmt"
	"math"

	"github.com/ringtrain/ringtrain/model/device"
)

// The transformer on a device (see transformer.go for the network): three
// kinds of devLayer, each a sample of t = context positions laid out as t
// rows of the sequence's values.
//
//	tfmEmbed  x = tok[ids] + pos (dropout)                    outPer t·C
//	tfmBlock  x = x + drop(proj(attn(ln1(x))))                outPer t·C
//	          x = x + drop(mlp.proj(GELU(mlp.fc(ln2(x)))))
//	tfmHead   logits = lnf(x)·tokᵀ                            outPer t·vocab
//
// The head shares tok with the embedding: its backward writes tok's
// gradient (beta as the pass says) and the embedding's adds to it, so
// tok's bucket is final only after the embedding (the head's paramLo is
// lnf's offset). Dropout uses the CPU model's masks: the hash of (the
// pass's seed, the CPU kernel's id, the element's index), so a pass on
// the device drops exactly the values the CPU pass with the same seed
// drops (tfmDropIDs).

// tfmDropIDs are the ids the CPU builder gives the dropout sites of block
// i (buildTransformer applies, in training with dropout: embed 1,
// embed.drop 2, then per block ln1, attn.qkv, attn, attn.proj, attn.drop,
// res1, ln2, mlp.fc, mlp.proj, mlp.drop, res2): the attention's (its
// weights), attn.drop's and mlp.drop's. The embedding's dropout is
// tfmEmbedDropID.
func tfmDropIDs(i int) (attn, attnDrop, mlpDrop int) {
	base := tfmEmbedDropID + 11*i
	return base + 3, base + 5, base + 10
}

// tfmEmbedDropID is the CPU builder's id of embed.drop.
const tfmEmbedDropID = 2

// tfmDrop is a dropout site of a training pass: probability p, the CPU
// kernel id.
type tfmDrop struct {
	p  float64
	id int
}

// apply sets y = dropout(x) (n values; y may be x) in a training pass
// with p > 0, else copies nothing and reports false.
func (d tfmDrop) apply(c devCtx, n int, x, y device.Buffer) (bool, error) {
	if !c.training || d.p == 0 {
		return false, nil
	}
	m := newDropMask(d.p)
	return true, device.TfmDropout(c.dev, n, dropKey(c.seed, d.id), m.thr, m.scale, x, y)
}

// devTransformer plans the transformer: the embedding, the blocks, the
// head.
func devTransformer(spec Spec, layout []Tensor) ([]devLayer, error) {
	byName := make(map[string]Tensor, len(layout))
	for _, t := range layout {
		byName[t.Name] = t
	}
	var missing []string
	off := func(name string) int {
		t, ok := byName[name]
		if !ok {
			missing = append(missing, name)
			return -1
		}
		return t.Offset
	}
	bias := func(name string) int {
		if !spec.Bias {
			return -1
		}
		return off(name + ".bias")
	}
	t, c := spec.Input[0], spec.Embed
	tok := off("tok.weight")
	out := []devLayer{tfmEmbed{t: t, dim: c, vocab: spec.Classes, tok: tok, pos: off("pos.weight"),
		drop: tfmDrop{p: spec.Dropout, id: tfmEmbedDropID}}}
	for i := range spec.Layers {
		p := fmt.Sprintf("block%d.", i)
		attn, attnDrop, mlpDrop := tfmDropIDs(i)
		out = append(out, tfmBlock{t: t, dim: c, heads: spec.Heads,
			ln1:      [2]int{off(p + "ln1.weight"), bias(p + "ln1")},
			qkv:      [2]int{off(p + "attn.qkv.weight"), bias(p + "attn.qkv")},
			prj:      [2]int{off(p + "attn.proj.weight"), bias(p + "attn.proj")},
			ln2:      [2]int{off(p + "ln2.weight"), bias(p + "ln2")},
			fc:       [2]int{off(p + "mlp.fc.weight"), bias(p + "mlp.fc")},
			mlp:      [2]int{off(p + "mlp.proj.weight"), bias(p + "mlp.proj")},
			attn:     tfmDrop{p: spec.Dropout, id: attn},
			attnDrop: tfmDrop{p: spec.Dropout, id: attnDrop},
			mlpDrop:  tfmDrop{p: spec.Dropout, id: mlpDrop},
		})
	}
	out = append(out, tfmHead{t: t, dim: c, vocab: spec.Classes, tok: tok, ln: [2]int{off("lnf.weight"), bias("lnf")}})
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: transformer layout has no %v", ErrBackend, missing)
	}
	return out, nil
}

// view is the n floats of buf from offset off (the zero Buffer for off <
// 0: an absent bias).
func view(buf device.Buffer, off, n int) device.Buffer {
	if off < 0 {
		return device.Buffer{}
	}
	return buf.F32(off, off+n)
}

// from is buf from float offset off to its end (a strided matrix view).
func from(buf device.Buffer, off int) device.Buffer { return buf.F32(off, buf.Bytes/4) }

// tfmEmbed is the token and position embedding: ids (n, t) as float32 to
// (n·t, C), then dropout.
type tfmEmbed struct {
	t, dim, vocab int
	tok, pos      int
	drop          tfmDrop
}

func (l tfmEmbed) outPer() int       { return l.t * l.dim }
func (l tfmEmbed) paramLo() int      { return min(l.tok, l.pos) }
func (l tfmEmbed) scratch(int) []int { return nil }

func (l tfmEmbed) forward(c devCtx, in, out device.Buffer, n int, _ []device.Buffer) error {
	if err := device.TfmEmbed(c.dev, n*l.t, l.t, l.dim, l.vocab, in, view(c.dp, l.tok, l.vocab*l.dim), view(c.dp, l.pos, l.t*l.dim), out); err != nil {
		return err
	}
	_, err := l.drop.apply(c, n*l.t*l.dim, out, out)
	return err
}

// backward adds the token rows' gradients to tok's (which the head wrote
// in this pass) and writes pos's (beta).
func (l tfmEmbed) backward(c devCtx, in, _, dout, _ device.Buffer, n int, _ []device.Buffer, beta float32) error {
	if _, err := l.drop.apply(c, n*l.t*l.dim, dout, dout); err != nil {
		return fmt.Errorf("dropout: %w", err)
	}
	if err := device.EmbedGrad(c.dev, n*l.t, l.dim, l.vocab, in, dout, 1, view(c.dg, l.tok, l.vocab*l.dim)); err != nil {
		return fmt.Errorf("token gradient: %w", err)
	}
	if err := device.ColSum(c.dev, n, l.t*l.dim, dout, 1, beta, view(c.dg, l.pos, l.t*l.dim)); err != nil {
		return fmt.Errorf("position gradient: %w", err)
	}
	return nil
}

// tfmHead is the final LayerNorm and the logits against the tied token
// embedding: (n·t, C) to (n·t, vocab).
type tfmHead struct {
	t, dim, vocab int
	tok           int
	ln            [2]int // lnf weight, bias (-1: none)
}

func (l tfmHead) outPer() int  { return l.t * l.vocab }
func (l tfmHead) paramLo() int { return l.ln[0] }

// scratch: the normalized rows, their mean and rstd, their gradient.
func (l tfmHead) scratch(n int) []int {
	r := n * l.t
	return []int{r * l.dim, r, r, r * l.dim}
}

func (l tfmHead) forward(c devCtx, in, out device.Buffer, n int, s []device.Buffer) error {
	r := n * l.t
	if err := layerNormFwd(c, r, l.dim, l.ln, in, s[0], s[1], s[2]); err != nil {
		return err
	}
	return device.Sgemm(c.dev, false, true, r, l.vocab, l.dim, 1, s[0], l.dim, view(c.dp, l.tok, l.vocab*l.dim), l.dim, 0, out, l.vocab)
}

func (l tfmHead) backward(c devCtx, in, _, dout, din device.Buffer, n int, s []device.Buffer, beta float32) error {
	r := n * l.t
	if err := device.Sgemm(c.dev, true, false, l.vocab, l.dim, r, 1, dout, l.vocab, s[0], l.dim, beta, view(c.dg, l.tok, l.vocab*l.dim), l.dim); err != nil {
		return fmt.Errorf("token gradient: %w", err)
	}
	if err := device.Sgemm(c.dev, false, false, r, l.dim, l.vocab, 1, dout, l.vocab, view(c.dp, l.tok, l.vocab*l.dim), l.dim, 0, s[3], l.dim); err != nil {
		return fmt.Errorf("normalized gradient: %w", err)
	}
	return layerNormBack(c, r, l.dim, l.ln, in, s[3], s[1], s[2], beta, device.Buffer{}, din)
}

// layerNormFwd is the LayerNorm ln (weight, bias offsets) of rows×dim x
// into y, keeping mean and rstd.
func layerNormFwd(c devCtx, rows, dim int, ln [2]int, x, y, mean, rstd device.Buffer) error {
	return device.TfmLayerNorm(c.dev, rows, dim, x, view(c.dp, ln[0], dim), view(c.dp, ln[1], dim), y, mean, rstd)
}

// layerNormBack writes the LayerNorm's parameter gradients (beta) from
// its input x and output gradient g and, unless din is the zero Buffer,
// din = res + the input gradient (res: the zero Buffer for none; it may
// be din).
func layerNormBack(c devCtx, rows, dim int, ln [2]int, x, g, mean, rstd device.Buffer, beta float32, res, din device.Buffer) error {
	if err := device.TfmLayerNormDwb(c.dev, rows, dim, x, g, mean, rstd, beta, view(c.dg, ln[0], dim), view(c.dg, ln[1], dim)); err != nil {
		return fmt.Errorf("LayerNorm parameter gradients: %w", err)
	}
	if din.Bytes == 0 {
		return nil
	}
	if err := device.TfmLayerNormDx(c.dev, rows, dim, x, view(c.dp, ln[0], dim), g, mean, rstd, res, din); err != nil {
		return fmt.Errorf("LayerNorm input gradient: %w", err)
	}
	return nil
}

// linearFwd is y = x·W (+ b) for rows×in x, W (in, out) and b at the
// offsets wb (-1: no bias).
func linearFwd(c devCtx, rows, in, out int, wb [2]int, x, y device.Buffer) error {
	if err := device.Sgemm(c.dev, false, false, rows, out, in, 1, x, in, view(c.dp, wb[0], in*out), out, 0, y, out); err != nil {
		return err
	}
	if wb[1] < 0 {
		return nil
	}
	return device.BiasAct(c.dev, rows, out, device.ActNone, y, view(c.dp, wb[1], out))
}

// linearBack writes dW = xᵀ·dy and db = Σ dy (beta) and, unless dx is the
// zero Buffer, dx = dy·Wᵀ.
func linearBack(c devCtx, rows, in, out int, wb [2]int, x, dy device.Buffer, beta float32, dx device.Buffer) error {
	if err := device.Sgemm(c.dev, true, false, in, out, rows, 1, x, in, dy, out, beta, view(c.dg, wb[0], in*out), out); err != nil {
		return fmt.Errorf("weight gradient: %w", err)
	}
	if wb[1] >= 0 {
		if err := device.ColSum(c.dev, rows, out, dy, 1, beta, view(c.dg, wb[1], out)); err != nil {
			return fmt.Errorf("bias gradient: %w", err)
		}
	}
	if dx.Bytes == 0 {
		return nil
	}
	if err := device.Sgemm(c.dev, false, true, rows, in, out, 1, dy, out, view(c.dp, wb[0], in*out), out, 0, dx, in); err != nil {
		return fmt.Errorf("input gradient: %w", err)
	}
	return nil
}

// attnScale is the attention's 1/sqrt(head dim), as the CPU model's.
func attnScale(dim, heads int) float32 { return float32(1 / math.Sqrt(float64(dim/heads))) }
