package model

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestEmbedGradient: the embedding's gradients (token rows summed over
// repeated tokens, position rows summed over samples) against central
// finite differences, through a dense layer and the xent loss, with and
// without a position table; unused token rows get 0.
func TestEmbedGradient(t *testing.T) {
	const n, tt, vocab, dim, context, classes = 2, 3, 5, 4, 4, 3
	for _, withPos := range []bool{false, true} {
		// params: E (vocab, dim), P (context, dim), W (dim, classes), b (classes)
		eOff, pOff, wOff, bOff := 0, vocab*dim, vocab*dim+context*dim, vocab*dim+context*dim+dim*classes
		total := bOff + classes
		params, grads := make([]float32, total), make([]float32, total)
		for i := range params {
			params[i] = float32(math.Sin(float64(i)*2.3)) * 0.7
		}
		x := []float32{1, 3, 1, 0, 1, 3} // token 1 three times, 2 and 4 never
		target := make([]float32, n*tt*classes)
		for r := range n * tt {
			target[r*classes+r%classes] = 1.0 / (n * tt)
		}
		bld := newBuilder()
		g := bld.g
		node := func(name string, buf []float32, shape ...int) *G.Node {
			v := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(buf))
			return G.NewTensor(g, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(v))
		}
		xn := node("x", x, n, tt)
		e, p := node("E", params[eOff:pOff], vocab, dim), node("P", params[pOff:wOff], context, dim)
		w, b := node("W", params[wOff:bOff], dim, classes), node("b", params[bOff:], classes)
		tn := node("target", target, n*tt, classes)
		op := newEmbedOp(bld, n, tt, vocab, dim, context, eOff, pOff)
		pn := p
		if !withPos {
			pn = nil
		}
		h, err := op.apply("embed", xn, e, pn)
		if err != nil {
			t.Fatal(err)
		}
		y, err := bld.apply(&denseOp{b: bld, n: n * tt, in: dim, out: classes, wOff: wOff, bOff: bOff}, "fc", tensor.Shape{n * tt, classes}, h, w, b)
		if err != nil {
			t.Fatal(err)
		}
		loss, err := bld.apply(&lossOp{b: bld, kind: LossXent, n: n * tt, classes: classes, prob: make([]float32, n*tt*classes)}, "loss", nil, y, tn)
		if err != nil {
			t.Fatal(err)
		}
		wrt := []*G.Node{e, w, b}
		if withPos {
			wrt = append(wrt, p)
		}
		dp, err := G.Grad(loss, wrt...)
		if err != nil {
			t.Fatal(err)
		}
		fixed := map[*G.Node][]float32{xn: x, e: params[eOff:pOff], p: params[pOff:wOff], w: params[wOff:bOff], b: params[bOff:], tn: target,
			dp[0]: grads[eOff:pOff], dp[1]: grads[wOff:bOff], dp[2]: grads[bOff:]}
		ranges := map[*G.Node]Range{dp[0]: {eOff, pOff}, dp[1]: {wOff, bOff}, dp[2]: {bOff, total}}
		if withPos {
			fixed[dp[3]], ranges[dp[3]] = grads[pOff:wOff], Range{pOff, wOff}
		}
		prog, err := compile(bld, append([]*G.Node{loss}, dp...), fixed, ranges)
		if err != nil {
			t.Fatal(err)
		}
		prog.ctx.setBounds([]int{0, total})
		run := func() float64 {
			prog.ctx.reset(Hooks{}, 1)
			prog.run(false)
			return float64(prog.bufs[loss][0])
		}
		run()
		ana := append([]float32(nil), grads...)
		check := []int{}
		for i := eOff; i < pOff; i++ {
			check = append(check, i)
		}
		if withPos {
			for i := pOff; i < wOff; i++ {
				check = append(check, i)
			}
		}
		for _, i := range check {
			const eps = 1e-3
			orig := params[i]
			params[i] = orig + eps
			lp := run()
			params[i] = orig - eps
			lm := run()
			params[i] = orig
			num := (lp - lm) / (2 * eps)
			if math.Abs(num-float64(ana[i])) > 2e-3*(1+math.Abs(num)) {
				t.Errorf("pos %v: grad[%d] = %v, finite difference %v", withPos, i, ana[i], num)
			}
		}
		for _, tok := range []int{2, 4} {
			for j := range dim {
				if v := ana[eOff+tok*dim+j]; v != 0 {
					t.Errorf("pos %v: unused token %d has gradient %v", withPos, tok, v)
				}
			}
		}
	}
}
