package model

import (
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// lossOp is the mean loss of a batch as a scalar, from logits (n,
// classes) and the target matrix of fillTargets:
//
//	xent: Σ_ij t_ij·(logsumexp_j(o_i) - o_ij)  (t = onehot/n)
//	mse:  mean over n·classes of (o - t)²     (t = onehot)
//
// For xent it keeps the softmax of every row for the backward pass.
type lossOp struct {
	opBase
	b          *builder
	kind       string
	n, classes int
	prob       []float32 // xent: softmax(o), filled by run
}

func (o *lossOp) run(_ *runCtx, out []float32, in [][]float32, _ bool) {
	logits, target := in[0], in[1]
	var sum float64
	if o.kind == LossMSE {
		t := target[:len(logits)]
		for i, v := range logits {
			d := float64(v - t[i])
			sum += d * d
		}
		out[0] = float32(sum / float64(len(logits)))
		return
	}
	for i := range o.n {
		row := logits[i*o.classes : (i+1)*o.classes]
		p := o.prob[i*o.classes : (i+1)*o.classes]
		t := target[i*o.classes : (i+1)*o.classes]
		m := row[0]
		for _, v := range row {
			if v > m {
				m = v
			}
		}
		var s float64
		for j, v := range row {
			e := math.Exp(float64(v - m))
			p[j] = float32(e)
			s += e
		}
		lse := float64(m) + math.Log(s)
		inv := float32(1 / s)
		for j, v := range row {
			p[j] *= inv
			if t[j] != 0 {
				sum += float64(t[j]) * (lse - float64(v))
			}
		}
	}
	out[0] = float32(sum)
}

func (o *lossOp) DiffWRT(int) []bool { return []bool{true, false} }

func (o *lossOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	d, err := o.b.apply(&lossBackOp{fwd: o}, o.name+"'", tensor.Shape{o.n, o.classes}, inputs[0], inputs[1], grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{d, nil}, nil
}

// lossBackOp is d loss / d logits, times the incoming scalar gradient and
// the pass's gradient scale:
//
//	xent: p_ij·Σ_k t_ik - t_ij
//	mse:  2(o - t)/(n·classes)
type lossBackOp struct {
	opBase
	fwd *lossOp
}

func (o *lossBackOp) run(c *runCtx, d []float32, in [][]float32, _ bool) {
	logits, target, g := in[0], in[1], in[2][0]*c.gradScale
	f := o.fwd
	t := target[:len(d)]
	if f.kind == LossMSE {
		k := 2 * g / float32(len(d))
		lg := logits[:len(d)]
		for i := range d {
			d[i] = k * (lg[i] - t[i])
		}
		return
	}
	for i := range f.n {
		p := f.prob[i*f.classes : (i+1)*f.classes]
		ti := t[i*f.classes : (i+1)*f.classes]
		di := d[i*f.classes : (i+1)*f.classes]
		var st float32
		for _, v := range ti {
			st += v
		}
		for j := range di {
			di[j] = g * (p[j]*st - ti[j])
		}
	}
}
