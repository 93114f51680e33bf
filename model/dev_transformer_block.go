package model

import (
	"fmt"

	"github.com/ringtrain/ringtrain/model/device"
)

// tfmBlock is one pre-LN transformer block on (n·t, C) rows. The residual
// stream does not fit a chain of layers, so the block keeps its
// intermediate values in its own scratch (tfmScratch) for its backward
// pass.
type tfmBlock struct {
	t, dim, heads int
	// Weight and bias offsets (bias -1: none): ln1, attn.qkv, attn.proj,
	// ln2, mlp.fc, mlp.proj.
	ln1, qkv, prj, ln2, fc, mlp [2]int
	attn, attnDrop, mlpDrop     tfmDrop
}

// The block's scratch buffers (indices into s).
const (
	tsH1    = iota // ln1(x)              (R, C)
	tsMean1        // ln1's mean, rstd     (R)
	tsRstd1        //
	tsQKV          // h1·Wqkv + b          (R, 3C)
	tsP            // softmax weights      (n, heads, t, t)
	tsPD           // after dropout        (n, heads, t, t), or 1 value without dropout
	tsAtt          // attention output     (R, C)
	tsX1           // x + drop(proj(att))  (R, C)
	tsH2           // ln2(x1)              (R, C)
	tsMean2        // ln2's mean, rstd     (R)
	tsRstd2        //
	tsZ            // h2·Wfc + b           (R, 4C)
	tsU            // GELU(z)              (R, 4C)
	tsDTmp         // a gradient through a dropout mask (R, C)
	tsDU           // d u, then d z        (R, 4C)
	tsDH           // d h2, then d h1      (R, C)
	tsDS           // d weights, d scores  (n, heads, t, t)
	tsDQKV         // d qkv                (R, 3C)
	tsDAtt         // d att                (R, C)
	tsCount
)

func (l tfmBlock) outPer() int  { return l.t * l.dim }
func (l tfmBlock) paramLo() int { return l.ln1[0] }

func (l tfmBlock) scratch(n int) []int {
	r, c, p := n*l.t, l.dim, n*l.heads*l.t*l.t
	pd := 1
	if l.attn.p > 0 {
		pd = p
	}
	s := make([]int, tsCount)
	s[tsH1], s[tsMean1], s[tsRstd1], s[tsQKV], s[tsP], s[tsPD], s[tsAtt] = r*c, r, r, 3*r*c, p, pd, r*c
	s[tsX1], s[tsH2], s[tsMean2], s[tsRstd2], s[tsZ], s[tsU] = r*c, r*c, r, r, 4*r*c, 4*r*c
	s[tsDTmp], s[tsDU], s[tsDH], s[tsDS], s[tsDQKV], s[tsDAtt] = r*c, 4*r*c, r*c, p, 3*r*c, r*c
	return s
}

func (l tfmBlock) forward(c devCtx, in, out device.Buffer, n int, s []device.Buffer) error {
	r, d := n*l.t, l.dim
	if err := layerNormFwd(c, r, d, l.ln1, in, s[tsH1], s[tsMean1], s[tsRstd1]); err != nil {
		return fmt.Errorf("ln1: %w", err)
	}
	if err := linearFwd(c, r, d, 3*d, l.qkv, s[tsH1], s[tsQKV]); err != nil {
		return fmt.Errorf("attn.qkv: %w", err)
	}
	if err := l.attention(c, n, s); err != nil {
		return fmt.Errorf("attention: %w", err)
	}
	if err := linearFwd(c, r, d, d, l.prj, s[tsAtt], s[tsX1]); err != nil {
		return fmt.Errorf("attn.proj: %w", err)
	}
	if _, err := l.attnDrop.apply(c, r*d, s[tsX1], s[tsX1]); err != nil {
		return fmt.Errorf("attn.drop: %w", err)
	}
	if err := device.TfmAdd(c.dev, r*d, in, s[tsX1], s[tsX1]); err != nil {
		return fmt.Errorf("residual: %w", err)
	}
	if err := layerNormFwd(c, r, d, l.ln2, s[tsX1], s[tsH2], s[tsMean2], s[tsRstd2]); err != nil {
		return fmt.Errorf("ln2: %w", err)
	}
	if err := device.Sgemm(c.dev, false, false, r, 4*d, d, 1, s[tsH2], d, view(c.dp, l.fc[0], 4*d*d), 4*d, 0, s[tsZ], 4*d); err != nil {
		return fmt.Errorf("mlp.fc: %w", err)
	}
	if err := device.TfmBiasGelu(c.dev, r, 4*d, s[tsZ], view(c.dp, l.fc[1], 4*d), s[tsU]); err != nil {
		return fmt.Errorf("mlp.fc GELU: %w", err)
	}
	if err := linearFwd(c, r, 4*d, d, l.mlp, s[tsU], out); err != nil {
		return fmt.Errorf("mlp.proj: %w", err)
	}
	if _, err := l.mlpDrop.apply(c, r*d, out, out); err != nil {
		return fmt.Errorf("mlp.drop: %w", err)
	}
	if err := device.TfmAdd(c.dev, r*d, s[tsX1], out, out); err != nil {
		return fmt.Errorf("residual: %w", err)
	}
	return nil
}

// attention is causal multi-head self-attention of qkv into att, per
// sample and head through sgemm on strided views of qkv (leading
// dimension 3C), as attentionOp: scores q·kᵀ into P, the causal softmax
// of scale·scores (in place), dropout into PD, att = PD·v.
func (l tfmBlock) attention(c devCtx, n int, s []device.Buffer) error {
	t, d, hd := l.t, l.dim, l.dim/l.heads
	ld := 3 * d
	qkv, p, att := s[tsQKV], s[tsP], s[tsAtt]
	for b := range n {
		for h := range l.heads {
			base, po := b*t*ld+h*hd, (b*l.heads+h)*t*t
			if err := device.Sgemm(c.dev, false, true, t, t, hd, 1, from(qkv, base), ld, from(qkv, base+d), ld, 0, p.F32(po, po+t*t), t); err != nil {
				return err
			}
		}
	}
	rows := n * l.heads * t
	if err := device.TfmCausalSoftmax(c.dev, rows, t, attnScale(d, l.heads), p, p); err != nil {
		return err
	}
	pd := p
	if ok, err := l.attn.apply(c, rows*t, p, s[tsPD]); err != nil {
		return err
	} else if ok {
		pd = s[tsPD]
	}
	for b := range n {
		for h := range l.heads {
			base, po := b*t*ld+h*hd, (b*l.heads+h)*t*t
			if err := device.Sgemm(c.dev, false, false, t, hd, t, 1, pd.F32(po, po+t*t), t, from(qkv, base+2*d), ld, 0, from(att, b*t*d+h*hd), d); err != nil {
				return err
			}
		}
	}
	return nil
}

// backward: dout is the gradient of the block's output, which is also
// that of x1 (the residual); it becomes the gradient of x1 and then of x.
func (l tfmBlock) backward(c devCtx, in, _, dout, din device.Buffer, n int, s []device.Buffer, beta float32) error {
	r, d := n*l.t, l.dim
	dm := dout
	if ok, err := l.mlpDrop.apply(c, r*d, dout, s[tsDTmp]); err != nil {
		return fmt.Errorf("mlp.drop: %w", err)
	} else if ok {
		dm = s[tsDTmp]
	}
	if err := linearBack(c, r, 4*d, d, l.mlp, s[tsU], dm, beta, s[tsDU]); err != nil {
		return fmt.Errorf("mlp.proj: %w", err)
	}
	if err := device.TfmGeluGrad(c.dev, r*4*d, s[tsZ], s[tsDU]); err != nil {
		return fmt.Errorf("mlp.fc GELU: %w", err)
	}
	if err := linearBack(c, r, d, 4*d, l.fc, s[tsH2], s[tsDU], beta, s[tsDH]); err != nil {
		return fmt.Errorf("mlp.fc: %w", err)
	}
	if err := layerNormBack(c, r, d, l.ln2, s[tsX1], s[tsDH], s[tsMean2], s[tsRstd2], beta, dout, dout); err != nil {
		return fmt.Errorf("ln2: %w", err)
	}
	da := dout
	if ok, err := l.attnDrop.apply(c, r*d, dout, s[tsDTmp]); err != nil {
		return fmt.Errorf("attn.drop: %w", err)
	} else if ok {
		da = s[tsDTmp]
	}
	if err := linearBack(c, r, d, d, l.prj, s[tsAtt], da, beta, s[tsDAtt]); err != nil {
		return fmt.Errorf("attn.proj: %w", err)
	}
	if err := l.attentionBack(c, n, s); err != nil {
		return fmt.Errorf("attention: %w", err)
	}
	if err := linearBack(c, r, d, 3*d, l.qkv, s[tsH1], s[tsDQKV], beta, s[tsDH]); err != nil {
		return fmt.Errorf("attn.qkv: %w", err)
	}
	if err := layerNormBack(c, r, d, l.ln1, in, s[tsDH], s[tsMean1], s[tsRstd1], beta, dout, din); err != nil {
		return fmt.Errorf("ln1: %w", err)
	}
	return nil
}

// attentionBack is d qkv from d att, as attnBackOp: per sample and head
// dP = d att·vᵀ and dv = PDᵀ·d att; then dP through the dropout mask and
// the softmax (dS, in place); per sample and head dq = dS·k, dk = dSᵀ·q.
func (l tfmBlock) attentionBack(c devCtx, n int, s []device.Buffer) error {
	t, d, hd := l.t, l.dim, l.dim/l.heads
	ld := 3 * d
	qkv, p, ds, datt, dqkv := s[tsQKV], s[tsP], s[tsDS], s[tsDAtt], s[tsDQKV]
	pd := p
	if c.training && l.attn.p > 0 {
		pd = s[tsPD]
	}
	for b := range n {
		for h := range l.heads {
			base, po, gOff := b*t*ld+h*hd, (b*l.heads+h)*t*t, b*t*d+h*hd
			if err := device.Sgemm(c.dev, false, true, t, t, hd, 1, from(datt, gOff), d, from(qkv, base+2*d), ld, 0, ds.F32(po, po+t*t), t); err != nil {
				return err
			}
			if err := device.Sgemm(c.dev, true, false, t, hd, t, 1, pd.F32(po, po+t*t), t, from(datt, gOff), d, 0, from(dqkv, base+2*d), ld); err != nil {
				return err
			}
		}
	}
	rows := n * l.heads * t
	if _, err := l.attn.apply(c, rows*t, ds, ds); err != nil {
		return err
	}
	if err := device.TfmCausalSoftmaxGrad(c.dev, rows, t, attnScale(d, l.heads), p, ds); err != nil {
		return err
	}
	for b := range n {
		for h := range l.heads {
			base, po := b*t*ld+h*hd, (b*l.heads+h)*t*t
			if err := device.Sgemm(c.dev, false, false, t, hd, t, 1, ds.F32(po, po+t*t), t, from(qkv, base+d), ld, 0, from(dqkv, base), ld); err != nil {
				return err
			}
			if err := device.Sgemm(c.dev, true, false, t, hd, t, 1, ds.F32(po, po+t*t), t, from(qkv, base), ld, 0, from(dqkv, base+d), ld); err != nil {
				return err
			}
		}
	}
	return nil
}
