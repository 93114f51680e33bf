package model

import (
	"fmt"

	"github.com/ringtrain/ringtrain/model/device"
)

// The recurrent language models, lstm and gru, on a device (see rnnArch
// for the layout): the embedding, one devRNN per Hidden entry and the
// head over every position. Every layer's output is (n·t)×w, row r =
// sample·t + step, so the head's output is [n, context, vocab], one row
// of logits per label.

// devRNNNet plans lstm and gru.
func devRNNNet(spec Spec, layout []Tensor) []devLayer {
	t := spec.Input[0]
	out := []devLayer{devEmbed{t: t, vocab: spec.Classes, dim: spec.Embed, off: layout[0].Offset}}
	cell := rnnCellOf(spec)
	in := spec.Embed
	for i, h := range spec.Hidden {
		k := 1 + 4*i
		out = append(out, devRNN{cell: cell, t: t, in: in, h: h,
			wih: layout[k].Offset, whh: layout[k+1].Offset, bih: layout[k+2].Offset, bhh: layout[k+3].Offset})
		in = h
	}
	k := len(layout) - 2
	head := dense{in: in, out: spec.Classes, w: layout[k].Offset, b: layout[k+1].Offset, act: device.ActNone}
	return append(out, seqDense{dense: head, t: t})
}

// devEmbed is the token embedding: the t token ids of a sample (float32,
// the pass's input) become t rows of dim values, rows of the vocab×dim
// table at offset off.
type devEmbed struct {
	t, vocab, dim, off int
}

func (l devEmbed) outPer() int       { return l.t * l.dim }
func (l devEmbed) paramLo() int      { return l.off }
func (l devEmbed) scratch(int) []int { return nil }

func (l devEmbed) table(buf device.Buffer) device.Buffer {
	return buf.F32(l.off, l.off+l.vocab*l.dim)
}

func (l devEmbed) forward(c devCtx, in, out device.Buffer, n int, _ []device.Buffer) error {
	return device.EmbedGather(c.dev, n*l.t, l.dim, l.vocab, in, l.table(c.dp), out)
}

// backward: the table's gradient (the ids have none; din is ignored).
func (l devEmbed) backward(c devCtx, in, _, dout, _ device.Buffer, n int, _ []device.Buffer, beta float32) error {
	if err := device.EmbedGrad(c.dev, n*l.t, l.dim, l.vocab, in, dout, beta, l.table(c.dg)); err != nil {
		return fmt.Errorf("embedding gradient: %w", err)
	}
	return nil
}

// seqDense is a dense layer applied to each of the t positions of a
// sample (its rows): the head.
type seqDense struct {
	dense
	t int
}

func (l seqDense) outPer() int { return l.t * l.out }

func (l seqDense) forward(c devCtx, in, out device.Buffer, n int, s []device.Buffer) error {
	return l.dense.forward(c, in, out, n*l.t, s)
}

func (l seqDense) backward(c devCtx, in, out, dout, din device.Buffer, n int, s []device.Buffer, beta float32) error {
	return l.dense.backward(c, in, out, dout, din, n*l.t, s, beta)
}
