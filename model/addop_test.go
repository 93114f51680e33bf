package model

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// tiedProgram is y = dense(ReLU(dense(x, W, b)), W, b) with its xent loss
// and gradients: W and b are read twice, so G.Grad sums their gradients
// with gorgonia's Add, which the program runs as addKernel.
func tiedProgram(t *testing.T, params, grads, x, target []float32, n, d int) (*program, []float32) {
	t.Helper()
	bld := newBuilder()
	g := bld.g
	node := func(name string, buf []float32, shape ...int) *G.Node {
		v := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(buf))
		return G.NewTensor(g, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(v))
	}
	w, b := node("W", params[:d*d], d, d), node("b", params[d*d:], d)
	xn, tn := node("x", x, n, d), node("target", target, n, d)
	h, err := bld.apply(&denseOp{b: bld, n: n, in: d, out: d, relu: true, wOff: 0, bOff: d * d}, "fc0", tensor.Shape{n, d}, xn, w, b)
	if err != nil {
		t.Fatal(err)
	}
	y, err := bld.apply(&denseOp{b: bld, n: n, in: d, out: d, wOff: 0, bOff: d * d}, "fc1", tensor.Shape{n, d}, h, w, b)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := bld.apply(&lossOp{b: bld, kind: LossXent, n: n, classes: d, prob: make([]float32, n*d)}, "loss", nil, y, tn)
	if err != nil {
		t.Fatal(err)
	}
	dp, err := G.Grad(loss, w, b)
	if err != nil {
		t.Fatal(err)
	}
	if !isAdd(dp[0]) || !isAdd(dp[1]) {
		t.Fatalf("G.Grad's gradients are %v and %v, want gorgonia's Add", dp[0].Op(), dp[1].Op())
	}
	fixed := map[*G.Node][]float32{w: params[:d*d], b: params[d*d:], xn: x, tn: target, dp[0]: grads[:d*d], dp[1]: grads[d*d:]}
	ranges := map[*G.Node]Range{dp[0]: {0, d * d}, dp[1]: {d * d, d*d + d}}
	p, err := compile(bld, []*G.Node{loss, dp[1], dp[0]}, fixed, ranges)
	if err != nil {
		t.Fatal(err)
	}
	p.ctx.setBounds([]int{0, d * d, d*d + d})
	return p, p.bufs[loss]
}

// TestAddKernelSumsTiedGradients: the gradient of weights read twice is the
// sum of both uses (checked by finite differences), accumulates with the
// pass, and each bucket is announced final once, after the sum.
func TestAddKernelSumsTiedGradients(t *testing.T) {
	const n, d = 3, 4
	params, grads := make([]float32, d*d+d), make([]float32, d*d+d)
	for i := range params {
		params[i] = float32(math.Sin(float64(i)*1.7)) * 0.8
	}
	x, target := make([]float32, n*d), make([]float32, n*d)
	for i := range x {
		x[i] = float32(math.Cos(float64(i) * 0.9))
	}
	for i := range n {
		target[i*d+i%d] = 1.0 / n
	}
	p, loss := tiedProgram(t, params, grads, x, target, n, d)
	var ready []int
	run := func(acc bool) float64 {
		ready = ready[:0]
		p.ctx.reset(Hooks{GradReady: func(b int) { ready = append(ready, b) }}, 1)
		p.run(acc)
		return float64(loss[0])
	}
	run(false)
	if len(ready) != 2 || ready[0] != 1 || ready[1] != 0 {
		t.Fatalf("GradReady calls %v, want [1 0] (b's bucket, then W's), once each", ready)
	}
	ana := append([]float32(nil), grads...)
	for i := range params {
		const eps = 1e-3
		orig := params[i]
		params[i] = orig + eps
		lp := run(false)
		params[i] = orig - eps
		lm := run(false)
		params[i] = orig
		num := (lp - lm) / (2 * eps)
		if math.Abs(num-float64(ana[i])) > 2e-3*(1+math.Abs(num)) {
			t.Errorf("grad[%d] = %v, finite difference %v", i, ana[i], num)
		}
	}
	run(false)
	run(true)
	for i := range grads {
		if math.Abs(float64(grads[i]-2*ana[i])) > 1e-6*(1+math.Abs(float64(ana[i]))) {
			t.Fatalf("accumulated grad[%d] = %v, want %v", i, grads[i], 2*ana[i])
		}
	}
}
