package model

import (
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// attnBlock is the number of query rows attention handles per GEMM: row
// block [i0, i1) needs the keys 0..i1-1 only, so the products of the
// masked keys after the block are skipped (a quarter of the full t×t at
// t = 64). Smaller blocks skip more but make more, smaller GEMM calls.
const attnBlock = 32

// attentionOp is causal multi-head self-attention on qkv (n·t, 3·dim),
// each row [q | k | v] with head h at columns h·hd..(h+1)·hd of each part
// (hd = dim/heads, PyTorch's split and view): per sample and head, y =
// softmax(q·kᵀ/sqrt(hd), masked to keys <= the query's position)·v, the
// heads side by side in y (n·t, dim). The products run as GEMMs on the
// strided views of qkv (leading dimension 3·dim), no copies.
//
// A training program keeps the softmax weights of every sample and head
// for the backward pass (and, with dropout on them, the dropped ones);
// an eval program reuses one t×t scratch.
type attentionOp struct {
	opBase
	b                *builder
	n, t, heads, dim int
	scale            float32
	train            bool
	drop             *dropMask // dropout on the weights; nil: none
	p, pd, scratch   []float32 // p (n, heads, t, t) in training; pd: after dropout
}

func newAttentionOp(b *builder, n, t, heads, dim int, train bool, dropout float64) *attentionOp {
	o := &attentionOp{b: b, n: n, t: t, heads: heads, dim: dim, train: train,
		scale: float32(1 / math.Sqrt(float64(dim/heads)))}
	if train {
		o.p = make([]float32, n*heads*t*t)
		if dropout > 0 {
			m := newDropMask(dropout)
			o.drop = &m
			o.pd = make([]float32, n*heads*t*t)
		}
	} else {
		o.scratch = make([]float32, t*t)
	}
	return o
}

// weights returns the softmax weights of sample b, head h (t×t, row
// major) and the weights after dropout (the same slice without dropout).
func (o *attentionOp) weights(b, h int) (p, pd []float32) {
	if !o.train {
		return o.scratch, o.scratch
	}
	off := (b*o.heads + h) * o.t * o.t
	p = o.p[off : off+o.t*o.t]
	if o.drop == nil {
		return p, p
	}
	return p, o.pd[off : off+o.t*o.t]
}

func (o *attentionOp) run(c *runCtx, y []float32, in [][]float32, _ bool) {
	qkv := in[0]
	t, dim, hd := o.t, o.dim, o.dim/o.heads
	ld := 3 * dim
	var key uint64
	if o.drop != nil {
		key = dropKey(c.seed, o.id)
	}
	for b := range o.n {
		base := b * t * ld
		for h := range o.heads {
			q, k, v := qkv[base+h*hd:], qkv[base+dim+h*hd:], qkv[base+2*dim+h*hd:]
			p, pd := o.weights(b, h)
			for i0 := 0; i0 < t; i0 += attnBlock {
				i1 := min(i0+attnBlock, t)
				gemm(false, true, i1-i0, i1, hd, q[i0*ld:], ld, k, ld, 0, p[i0*t:], t)
				for i := i0; i < i1; i++ {
					o.softmaxRow(p[i*t:i*t+i1], i)
				}
				if o.drop != nil {
					off := (b*o.heads + h) * t * t
					for i := i0; i < i1; i++ {
						src, dst := p[i*t:i*t+i1], pd[i*t:i*t+i1]
						for j := range dst {
							dst[j] = src[j] * o.drop.factor(key, off+i*t+j)
						}
					}
				}
				gemm(false, false, i1-i0, hd, i1, pd[i0*t:], t, v, ld, 0, y[(b*t+i0)*dim+h*hd:], dim)
			}
		}
	}
}

// softmaxRow turns the scores of query i (row[0..i], keys after it
// masked) into softmax(scale·score) and zeroes row[i+1:].
func (o *attentionOp) softmaxRow(row []float32, i int) {
	s := row[:i+1]
	m := s[0]
	for _, v := range s {
		m = max(m, v)
	}
	inv := 1 / expSum(s, m, o.scale)
	for j := range s {
		s[j] *= inv
	}
	clear(row[i+1:])
}

func (o *attentionOp) DiffWRT(int) []bool { return []bool{true} }

func (o *attentionOp) SymDiff(inputs G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	back := &attnBackOp{fwd: o, scratch: make([]float32, attnBlock*o.t)}
	d, err := o.b.apply(back, o.name+"'", tensor.Shape{o.n * o.t, 3 * o.dim}, inputs[0], grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{d}, nil
}

// attnBackOp is d qkv from qkv and the gradient of y, per sample and head
// and row block, the last block first (it covers every key, so its
// products initialize dk and dv, the earlier blocks add to them):
//
//	dP = dy·vᵀ,  dv += P'ᵀ·dy          (P' the weights after dropout)
//	dS = P ⊙ (dP' - rowsum(dP' ⊙ P))·scale   (dP' = dP through the mask)
//	dq = dS·k,   dk += dSᵀ·q
type attnBackOp struct {
	opBase
	fwd     *attentionOp
	scratch []float32 // dP, then dS, of one row block: attnBlock × t
}

func (op *attnBackOp) run(c *runCtx, dqkv []float32, in [][]float32, _ bool) {
	o := op.fwd
	qkv, g := in[0], in[1]
	t, dim, hd := o.t, o.dim, o.dim/o.heads
	ld := 3 * dim
	var key uint64
	if o.drop != nil {
		key = dropKey(c.seed, o.id)
	}
	ds := op.scratch
	last := (t - 1) / attnBlock * attnBlock
	for b := range o.n {
		base := b * t * ld
		for h := range o.heads {
			q, k, v := qkv[base+h*hd:], qkv[base+dim+h*hd:], qkv[base+2*dim+h*hd:]
			dq, dk, dv := dqkv[base+h*hd:], dqkv[base+dim+h*hd:], dqkv[base+2*dim+h*hd:]
			gy := g[b*t*dim+h*hd:]
			p, pd := o.weights(b, h)
			off := (b*o.heads + h) * t * t
			for i0 := last; i0 >= 0; i0 -= attnBlock {
				i1 := min(i0+attnBlock, t)
				r := i1 - i0
				var beta float32
				if i0 != last {
					beta = 1
				}
				gemm(false, true, r, i1, hd, gy[i0*dim:], dim, v, ld, 0, ds, t)
				gemm(true, false, i1, hd, r, pd[i0*t:], t, gy[i0*dim:], dim, beta, dv, ld)
				for i := i0; i < i1; i++ {
					row := ds[(i-i0)*t : (i-i0)*t+i+1]
					pr := p[i*t : i*t+i+1]
					pr = pr[:len(row)]
					if o.drop != nil {
						for j := range row {
							row[j] *= o.drop.factor(key, off+i*t+j)
						}
					}
					var dot float32
					for j, pv := range pr {
						dot += pv * row[j]
					}
					for j, pv := range pr {
						row[j] = pv * (row[j] - dot) * o.scale
					}
					clear(ds[(i-i0)*t+i+1 : (i-i0)*t+i1])
				}
				gemm(false, false, r, hd, i1, ds, t, k, ld, 0, dq[i0*ld:], ld)
				gemm(true, false, i1, hd, r, ds, t, q[i0*ld:], ld, beta, dk, ld)
			}
		}
	}
}
