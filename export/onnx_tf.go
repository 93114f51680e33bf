package export

import (
	"fmt"
	"math"

	"github.com/ringtrain/ringtrain/model"
)

// lnEps is the epsilon of ringtrain's LayerNorms (model's lnEps, PyTorch's
// default).
const lnEps = 1e-5

// scalar returns the name of a one-value float initializer, adding it the
// first time.
func (g *graph) scalar(name string, v float32) string {
	for _, t := range g.inits {
		if t.Name == name {
			return name
		}
	}
	return g.init(name, []int{1}, []float32{v})
}

// ints returns the name of an int64 initializer, adding it the first time.
func (g *graph) ints(name string, v ...int64) string {
	for _, t := range g.inits {
		if t.Name == name {
			return name
		}
	}
	return g.initInt64(name, []int{len(v)}, v)
}

// layerNorm adds LayerNorm over the last axis of x, decomposed (opset 13
// has no LayerNormalization): d = x − ReduceMean(x); y = d /
// Sqrt(ReduceMean(d·d) + eps) · weight (+ bias), the biased variance.
func (g *graph) layerNorm(x, weight, bias string) string {
	mean := g.node("ReduceMean", []string{x}, intsAttr("axes", -1), intAttr("keepdims", 1))
	d := g.node("Sub", []string{x, mean})
	variance := g.node("ReduceMean", []string{g.node("Mul", []string{d, d})}, intsAttr("axes", -1), intAttr("keepdims", 1))
	std := g.node("Sqrt", []string{g.node("Add", []string{variance, g.scalar("ln_eps", lnEps)})})
	y := g.node("Mul", []string{g.node("Div", []string{d, std}), weight})
	if bias != "" {
		y = g.node("Add", []string{y, bias})
	}
	return y
}

// gelu adds the exact GELU, x/2·(1 + Erf(x/√2)), as ringtrain computes it
// (PyTorch's approximate="none").
func (g *graph) gelu(x string) string {
	e := g.node("Erf", []string{g.node("Mul", []string{x, g.scalar("gelu_inv_sqrt2", float32(1/math.Sqrt2))})})
	y := g.node("Mul", []string{x, g.node("Add", []string{e, g.scalar("one", 1)})})
	return g.node("Mul", []string{y, g.scalar("half", 0.5)})
}

// tfParams hands out a transformer's layout tensors by name as
// initializers.
type tfParams struct {
	g      *graph
	m      Model
	byName map[string]model.Tensor
}

// get returns the initializer of tensor name ("" if the layout has none:
// a bias of a model without biases).
func (p tfParams) get(name string) string {
	t, ok := p.byName[name]
	if !ok {
		return ""
	}
	return p.g.init(t.Name, t.Shape, p.m.tensor(t))
}

// linear adds x·weight (+ bias) for a [in, out] weight.
func (p tfParams) linear(x, name string) string {
	y := p.g.node("MatMul", []string{x, p.get(name + ".weight")})
	if b := p.get(name + ".bias"); b != "" {
		y = p.g.node("Add", []string{y, b})
	}
	return y
}

// tfGraph adds a transformer language model: token ids (int64 [batch,
// sequence], sequence 1..context) → Gather(tok.weight) + Gather(pos.weight,
// positions) with positions = CumSum of ones along the sequence − 1 →
// per block the pre-LN attention and MLP with residuals → lnf → MatMul by
// Transpose(tok.weight) (the tied head) → logits [batch, sequence, vocab].
// Attention: Slice q, k, v from the qkv projection, Reshape to [batch,
// sequence, heads, head] and Transpose to [batch, heads, sequence, head],
// q·kᵀ·(1/√head), Where(key position > query position, −Inf) (the causal
// mask, from the positions: no Trilu, which is opset 14), Softmax over the
// keys, ·v, Transpose and Reshape back. The sequence length is dynamic; a
// sequence longer than the context fails in pos.weight's Gather.
func tfGraph(g *graph, m Model, layout []model.Tensor) {
	s := m.Spec
	p := tfParams{g: g, m: m, byName: make(map[string]model.Tensor, len(layout))}
	for _, t := range layout {
		p.byName[t.Name] = t
	}
	c, heads := s.Embed, s.Heads
	tok := p.get("tok.weight")
	ones := g.node("Add", []string{g.node("Mul", []string{InputName, g.ints("zero_i64", 0)}), g.ints("one_i64", 1)})
	positions := g.node("Sub", []string{g.node("CumSum", []string{ones, g.ints("seq_axis", 1)}), g.ints("one_i64", 1)})
	x := g.node("Add", []string{g.node("Gather", []string{tok, InputName}, intAttr("axis", 0)),
		g.node("Gather", []string{p.get("pos.weight"), positions}, intAttr("axis", 0))})
	// future[b, 1, i, j]: key j is after query i
	future := g.node("Greater", []string{
		g.node("Unsqueeze", []string{positions, g.ints("axis_1", 1)}),
		g.node("Unsqueeze", []string{positions, g.ints("axis_2", 2)})})
	future = g.node("Unsqueeze", []string{future, g.ints("axis_1", 1)})
	headShape := g.ints("head_shape", 0, 0, int64(heads), int64(c/heads))
	modelShape := g.ints("model_shape", 0, 0, int64(c))
	scale := g.scalar("attn_scale", float32(1/math.Sqrt(float64(c/heads))))
	negInf := g.scalar("neg_inf", float32(math.Inf(-1)))
	for i := range s.Layers {
		b := fmt.Sprintf("block%d.", i)
		qkv := p.linear(g.layerNorm(x, p.get(b+"ln1.weight"), p.get(b+"ln1.bias")), b+"attn.qkv")
		part := func(k int, perm ...int64) string {
			sl := g.node("Slice", []string{qkv, g.ints(fmt.Sprintf("qkv_start%d", k), int64(k*c)), g.ints(fmt.Sprintf("qkv_end%d", k), int64((k+1)*c)), g.ints("axis_2", 2)})
			return g.node("Transpose", []string{g.node("Reshape", []string{sl, headShape})}, intsAttr("perm", perm...))
		}
		q, kt, v := part(0, 0, 2, 1, 3), part(1, 0, 2, 3, 1), part(2, 0, 2, 1, 3)
		scores := g.node("Mul", []string{g.node("MatMul", []string{q, kt}), scale})
		w := g.node("Softmax", []string{g.node("Where", []string{future, negInf, scores})}, intAttr("axis", -1))
		y := g.node("Transpose", []string{g.node("MatMul", []string{w, v})}, intsAttr("perm", 0, 2, 1, 3))
		y = p.linear(g.node("Reshape", []string{y, modelShape}), b+"attn.proj")
		x = g.node("Add", []string{x, y})
		h := p.linear(g.layerNorm(x, p.get(b+"ln2.weight"), p.get(b+"ln2.bias")), b+"mlp.fc")
		x = g.node("Add", []string{x, p.linear(g.gelu(h), b+"mlp.proj")})
	}
	h := g.layerNorm(x, p.get("lnf.weight"), p.get("lnf.bias"))
	g.node("MatMul", []string{h, g.node("Transpose", []string{tok}, intsAttr("perm", 1, 0))})
}
