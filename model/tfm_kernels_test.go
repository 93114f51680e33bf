package model

import (
	"fmt"
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// fdTensor is one tensor of a gradient-checked program's flat buffer.
type fdTensor struct {
	name  string
	shape []int
}

// fdProgram is a small program of transformer kernels for a finite-
// difference check: every tensor lives in one flat buffer (parameters and
// input activations alike) and gets its gradient from G.Grad.
type fdProgram struct {
	params, grads []float32
	offs          []int
	prog          *program
	loss          []float32
	dp            []*G.Node // the tensors' gradient nodes
}

// fdBuild adds the kernels under test on the tensors' nodes (with their
// flat offsets) and returns the logits (rows, classes) and any further
// fixed inputs (token ids).
type fdBuild func(bld *builder, nodes []*G.Node, offs []int) (*G.Node, map[*G.Node][]float32, error)

// newFDProgram builds the program: tensors filled with N(0, scale²)
// values from seed, xent loss against fixed labels, gradients of every
// tensor.
func newFDProgram(t *testing.T, tensors []fdTensor, rows, classes int, scale float64, seed uint64, build fdBuild) *fdProgram {
	t.Helper()
	fp := &fdProgram{}
	total := 0
	for _, ts := range tensors {
		fp.offs = append(fp.offs, total)
		total += sizeOf(ts.shape)
	}
	fp.params, fp.grads = make([]float32, total), make([]float32, total)
	fillNormal(fp.params, scale, newSplitMix(seed, "fd"))
	bld := newBuilder()
	g := bld.g
	node := func(name string, buf []float32, shape ...int) *G.Node {
		v := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(buf))
		return G.NewTensor(g, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(v))
	}
	var nodes []*G.Node
	fixed := make(map[*G.Node][]float32)
	for i, ts := range tensors {
		buf := fp.params[fp.offs[i] : fp.offs[i]+sizeOf(ts.shape)]
		nodes = append(nodes, node(ts.name, buf, ts.shape...))
		fixed[nodes[i]] = buf
	}
	logits, more, err := build(bld, nodes, fp.offs)
	if err != nil {
		t.Fatal(err)
	}
	for n, buf := range more {
		fixed[n] = buf
	}
	target := make([]float32, rows*classes)
	for r := range rows {
		target[r*classes+(r*5+2)%classes] = 1 / float32(rows)
	}
	tn := node("target", target, rows, classes)
	fixed[tn] = target
	loss, err := bld.apply(&lossOp{b: bld, kind: LossXent, n: rows, classes: classes, prob: make([]float32, rows*classes)}, "loss", nil, logits, tn)
	if err != nil {
		t.Fatal(err)
	}
	dp, err := G.Grad(loss, nodes...)
	if err != nil {
		t.Fatal(err)
	}
	fp.dp = dp
	ranges := make(map[*G.Node]Range)
	for i, ts := range tensors {
		lo, hi := fp.offs[i], fp.offs[i]+sizeOf(ts.shape)
		fixed[dp[i]], ranges[dp[i]] = fp.grads[lo:hi], Range{lo, hi}
	}
	if fp.prog, err = compile(bld, append([]*G.Node{loss}, dp...), fixed, ranges); err != nil {
		t.Fatal(err)
	}
	fp.prog.ctx.setBounds([]int{0, total})
	fp.loss = fp.prog.bufs[loss]
	return fp
}

// run runs a pass with the given dropout seed and returns the loss.
func (fp *fdProgram) run(seed uint64) float64 {
	fp.prog.ctx.reset(Hooks{}, 1)
	fp.prog.ctx.seed = seed
	fp.prog.run(false)
	return float64(fp.loss[0])
}

// check compares every tensor's gradient with central differences of the
// loss (step eps): the relative error of the tensor's gradient vector must
// be below tol.
func (fp *fdProgram) check(t *testing.T, tensors []fdTensor, eps float64, tol float64) {
	t.Helper()
	const seed = 7
	fp.run(seed)
	ana := append([]float32(nil), fp.grads...)
	for i, ts := range tensors {
		var diff2, norm2 float64
		for k := range sizeOf(ts.shape) {
			j := fp.offs[i] + k
			orig := fp.params[j]
			fp.params[j] = orig + float32(eps)
			hi, lp := float64(fp.params[j])-float64(orig), fp.run(seed)
			fp.params[j] = orig - float32(eps)
			lo, lm := float64(orig)-float64(fp.params[j]), fp.run(seed)
			fp.params[j] = orig
			num := (lp - lm) / (hi + lo)
			diff2 += (num - float64(ana[j])) * (num - float64(ana[j]))
			norm2 += num * num
		}
		rel := math.Sqrt(diff2 / max(norm2, 1e-20))
		t.Logf("%-8s |grad| %.3e  rel err %.2e", ts.name, math.Sqrt(norm2), rel)
		if norm2 == 0 || rel > tol {
			t.Errorf("%s: gradient relative error %.3e (|grad| %.3e)", ts.name, rel, math.Sqrt(norm2))
		}
	}
}

// TestLayerNormGradient: LayerNorm with and without bias (input, weight
// and bias gradients) by finite differences, through a linear layer to
// the loss; and its output has zero mean and unit variance per row before
// the affine part.
func TestLayerNormGradient(t *testing.T) {
	const rows, dim, classes = 5, 6, 4
	for _, bias := range []bool{false, true} {
		t.Run(fmt.Sprintf("bias=%v", bias), func(t *testing.T) {
			ts := []fdTensor{{"x", []int{rows, dim}}, {"w", []int{dim}}, {"W", []int{dim, classes}}}
			if bias {
				ts = append(ts, fdTensor{"b", []int{dim}})
			}
			var ln *layerNormOp
			fp := newFDProgram(t, ts, rows, classes, 1, 1, func(bld *builder, n []*G.Node, offs []int) (*G.Node, map[*G.Node][]float32, error) {
				var bn *G.Node
				bOff := -1
				if bias {
					bn, bOff = n[3], offs[3]
				}
				ln = newLayerNormOp(bld, rows, dim, offs[1], bOff)
				h, err := ln.apply("ln", n[0], n[1], bn)
				if err != nil {
					return nil, nil, err
				}
				lin := &linearOp{b: bld, n: rows, in: dim, out: classes, wOff: offs[2], bOff: -1}
				y, err := bld.apply(lin, "fc", tensor.Shape{rows, classes}, h, n[2])
				return y, nil, err
			})
			fp.check(t, ts, 3e-3, 3e-3)
			// x̂ = (x - mean)·rstd has mean 0 and variance var/(var + eps).
			x := fp.params[:rows*dim]
			for r := range rows {
				var s, ss float64
				for _, v := range x[r*dim : (r+1)*dim] {
					d := float64((v - ln.mean[r]) * ln.rstd[r])
					s += d
					ss += d * d
				}
				if math.Abs(s) > 1e-5 || math.Abs(ss/dim-1) > 1e-3 {
					t.Errorf("row %d: normalized mean %v, variance %v", r, s/dim, ss/dim)
				}
			}
		})
	}
}

// TestGELULinearGradient: the linear layer with GELU (and with and
// without bias) by finite differences, and its forward values against
// the float64 formula with math.Erf.
func TestGELULinearGradient(t *testing.T) {
	const rows, in, out, classes = 4, 5, 9, 3
	for _, bias := range []bool{false, true} {
		t.Run(fmt.Sprintf("bias=%v", bias), func(t *testing.T) {
			ts := []fdTensor{{"x", []int{rows, in}}, {"W", []int{in, out}}, {"W2", []int{out, classes}}}
			if bias {
				ts = append(ts, fdTensor{"b", []int{out}})
			}
			var h *G.Node
			fp := newFDProgram(t, ts, rows, classes, 1, 2, func(bld *builder, n []*G.Node, offs []int) (*G.Node, map[*G.Node][]float32, error) {
				g := &linearOp{b: bld, n: rows, in: in, out: out, wOff: offs[1], bOff: -1, gelu: true, deriv: make([]float32, rows*out)}
				var err error
				if bias {
					g.bOff = offs[3]
					h, err = bld.apply(g, "fc", tensor.Shape{rows, out}, n[0], n[1], n[3])
				} else {
					h, err = bld.apply(g, "fc", tensor.Shape{rows, out}, n[0], n[1])
				}
				if err != nil {
					return nil, nil, err
				}
				lin := &linearOp{b: bld, n: rows, in: out, out: classes, wOff: offs[2], bOff: -1}
				y, err := bld.apply(lin, "proj", tensor.Shape{rows, classes}, h, n[2])
				return y, nil, err
			})
			fp.check(t, ts, 3e-3, 3e-3)
			fp.run(0)
			x, w := fp.params[:rows*in], fp.params[fp.offs[1]:fp.offs[2]]
			got := fp.prog.bufs[h]
			for r := range rows {
				for j := range out {
					var z float64
					for k := range in {
						z += float64(x[r*in+k]) * float64(w[k*out+j])
					}
					if bias {
						z += float64(fp.params[fp.offs[3]+j])
					}
					want, _ := geluRef(z)
					if math.Abs(float64(got[r*out+j])-want) > 2e-6*max(1, math.Abs(z)) {
						t.Fatalf("GELU output [%d,%d] = %v, want %v", r, j, got[r*out+j], want)
					}
				}
			}
		})
	}
}

// attnProgram is attention on a qkv tensor (n·t, 3·dim), then a linear
// layer to classes; drop is the dropout on the weights.
func attnProgram(t *testing.T, n, tt, heads, dim, classes int, drop float64) (*fdProgram, []fdTensor, *G.Node) {
	ts := []fdTensor{{"qkv", []int{n * tt, 3 * dim}}, {"W", []int{dim, classes}}}
	var y *G.Node
	fp := newFDProgram(t, ts, n*tt, classes, 1, 3, func(bld *builder, nodes []*G.Node, offs []int) (*G.Node, map[*G.Node][]float32, error) {
		var err error
		if y, err = bld.apply(newAttentionOp(bld, n, tt, heads, dim, true, drop), "attn", tensor.Shape{n * tt, dim}, nodes[0]); err != nil {
			return nil, nil, err
		}
		lin := &linearOp{b: bld, n: n * tt, in: dim, out: classes, wOff: offs[1], bOff: -1}
		out, err := bld.apply(lin, "fc", tensor.Shape{n * tt, classes}, y, nodes[1])
		return out, nil, err
	})
	return fp, ts, y
}

// TestAttentionGradient: causal attention by finite differences (longer
// than a row block, two samples, several heads, with and without dropout
// on the weights), its forward values against the definition computed
// in float64, and causality: changing the keys and values of position p
// leaves the outputs of the positions before p bit for bit unchanged.
func TestAttentionGradient(t *testing.T) {
	const n, heads, dim, classes = 2, 2, 4, 3
	for _, tc := range []struct {
		tt   int
		drop float64
	}{{5, 0}, {attnBlock + 3, 0}, {5, 0.3}} {
		t.Run(fmt.Sprintf("t=%d/dropout=%v", tc.tt, tc.drop), func(t *testing.T) {
			fp, ts, y := attnProgram(t, n, tc.tt, heads, dim, classes, tc.drop)
			fp.check(t, ts, 3e-3, 3e-3)
			if tc.drop > 0 {
				return
			}
			fp.run(0)
			qkv, out := fp.params[:n*tc.tt*3*dim], fp.prog.bufs[y]
			want := attentionRef(qkv, n, tc.tt, heads, dim)
			for i, w := range want {
				if math.Abs(float64(out[i])-w) > 1e-5 {
					t.Fatalf("attention output %d = %v, want %v", i, out[i], w)
				}
			}
			before := append([]float32(nil), out...)
			p := tc.tt - 2
			for s := range n {
				for j := dim; j < 3*dim; j++ { // the keys and values of position p
					qkv[(s*tc.tt+p)*3*dim+j] += 0.5
				}
			}
			fp.run(0)
			for s := range n {
				for r := range tc.tt {
					row := (s*tc.tt + r) * dim
					same := true
					for j := range dim {
						same = same && out[row+j] == before[row+j]
					}
					if r < p && !same {
						t.Fatalf("sample %d: position %d changed when position %d's keys and values did", s, r, p)
					}
					if r >= p && same {
						t.Fatalf("sample %d: position %d did not change with position %d's keys and values", s, r, p)
					}
				}
			}
		})
	}
}

// attentionRef is causal multi-head attention by its definition, in
// float64.
func attentionRef(qkv []float32, n, tt, heads, dim int) []float64 {
	hd := dim / heads
	out := make([]float64, n*tt*dim)
	at := func(s, pos, part, h, j int) float64 { return float64(qkv[(s*tt+pos)*3*dim+part*dim+h*hd+j]) }
	for s := range n {
		for h := range heads {
			for i := range tt {
				sc := make([]float64, i+1)
				m := math.Inf(-1)
				for j := range sc {
					for k := range hd {
						sc[j] += at(s, i, 0, h, k) * at(s, j, 1, h, k)
					}
					sc[j] /= math.Sqrt(float64(hd))
					m = math.Max(m, sc[j])
				}
				var z float64
				for j := range sc {
					sc[j] = math.Exp(sc[j] - m)
					z += sc[j]
				}
				for j := range sc {
					for k := range hd {
						out[(s*tt+i)*dim+h*hd+k] += sc[j] / z * at(s, j, 2, h, k)
					}
				}
			}
		}
	}
	return out
}

// TestResidualGradient: x + f(x) with x read twice (by the residual and
// by a linear layer), so G.Grad sums x's two gradients with gorgonia's
// Add; by finite differences.
func TestTfmResidualGradient(t *testing.T) {
	const rows, dim, classes = 4, 5, 3
	ts := []fdTensor{{"x", []int{rows, dim}}, {"W", []int{dim, dim}}, {"W2", []int{dim, classes}}}
	fp := newFDProgram(t, ts, rows, classes, 1, 4, func(bld *builder, n []*G.Node, offs []int) (*G.Node, map[*G.Node][]float32, error) {
		f, err := bld.apply(&linearOp{b: bld, n: rows, in: dim, out: dim, wOff: offs[1], bOff: -1, gelu: true, deriv: make([]float32, rows*dim)}, "f", tensor.Shape{rows, dim}, n[0], n[1])
		if err != nil {
			return nil, nil, err
		}
		r, err := bld.apply(&residualOp{}, "res", tensor.Shape{rows, dim}, n[0], f)
		if err != nil {
			return nil, nil, err
		}
		y, err := bld.apply(&linearOp{b: bld, n: rows, in: dim, out: classes, wOff: offs[2], bOff: -1}, "out", tensor.Shape{rows, classes}, r, n[2])
		return y, nil, err
	})
	if !isAdd(fp.dp[0]) {
		t.Fatalf("x's gradient is %v, want gorgonia's Add of its two terms", fp.dp[0].Op())
	}
	fp.check(t, ts, 3e-3, 3e-3)
}

// TestTiedHeadGradient: an embedding table E read by the lookup and by
// the output head (logits = LayerNorm(E[x] + P[pos])·Eᵀ): E's gradient is
// the sum of both uses; by finite differences, and with dropout on the
// embedding sum.
func TestTfmTiedHeadGradient(t *testing.T) {
	const n, tt, vocab, dim = 2, 3, 5, 4
	for _, drop := range []float64{0, 0.25} {
		t.Run(fmt.Sprintf("dropout=%v", drop), func(t *testing.T) {
			ts := []fdTensor{{"E", []int{vocab, dim}}, {"P", []int{tt, dim}}, {"w", []int{dim}}}
			x := []float32{1, 3, 1, 0, 4, 3}
			fp := newFDProgram(t, ts, n*tt, vocab, 1, 5, func(bld *builder, nodes []*G.Node, offs []int) (*G.Node, map[*G.Node][]float32, error) {
				v := tensor.New(tensor.WithShape(n, tt), tensor.WithBacking(x))
				xn := G.NewTensor(bld.g, tensor.Float32, 2, G.WithShape(n, tt), G.WithName("x"), G.WithValue(v))
				h, err := newEmbedOp(bld, n, tt, vocab, dim, tt, offs[0], offs[1]).apply("embed", xn, nodes[0], nodes[1])
				if err != nil {
					return nil, nil, err
				}
				if drop > 0 {
					if h, err = bld.apply(&dropoutOp{b: bld, mask: newDropMask(drop)}, "drop", tensor.Shape{n * tt, dim}, h); err != nil {
						return nil, nil, err
					}
				}
				if h, err = newLayerNormOp(bld, n*tt, dim, offs[2], -1).apply("ln", h, nodes[2], nil); err != nil {
					return nil, nil, err
				}
				y, err := bld.apply(&headOp{b: bld, n: n * tt, dim: dim, vocab: vocab, eOff: offs[0]}, "head", tensor.Shape{n * tt, vocab}, h, nodes[0])
				return y, map[*G.Node][]float32{xn: x}, err
			})
			if !isAdd(fp.dp[0]) {
				t.Fatalf("E's gradient is %v, want gorgonia's Add of its two terms", fp.dp[0].Op())
			}
			fp.check(t, ts, 3e-3, 3e-3)
		})
	}
}

// TestDropoutMask: the mask keeps about 1-p of the elements scaled by
// 1/(1-p), depends on the seed and the kernel id, and is the same for the
// same (seed, id).
func TestTfmDropoutMask(t *testing.T) {
	for _, p := range []float64{0.1, 0.5, 0.9} {
		m := newDropMask(p)
		const n = 100000
		kept := 0
		k1, k2, k3 := dropKey(1, 3), dropKey(2, 3), dropKey(1, 4)
		same12, same13 := 0, 0
		for i := range n {
			f := m.factor(k1, i)
			if f != 0 {
				kept++
				if f != float32(1/(1-p)) {
					t.Fatalf("p %v: kept element scaled by %v", p, f)
				}
			}
			if f == m.factor(k2, i) {
				same12++
			}
			if f == m.factor(k3, i) {
				same13++
			}
			if f != m.factor(dropKey(1, 3), i) {
				t.Fatal("the mask changed for the same seed and kernel")
			}
		}
		frac := float64(kept) / n
		// Independent masks agree on a fraction p² + (1-p)² of elements.
		agree := p*p + (1-p)*(1-p)
		if math.Abs(frac-(1-p)) > 0.01 || math.Abs(float64(same12)/n-agree) > 0.01 || math.Abs(float64(same13)/n-agree) > 0.01 {
			t.Errorf("p %v: kept %.4f, agreement with another seed %.4f, another kernel %.4f (want %.4f)", p, frac, float64(same12)/n, float64(same13)/n, agree)
		}
	}
}
