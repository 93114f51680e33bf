package model_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/internal/testutil"
	"github.com/ringtrain/ringtrain/model"
)

// presetAsLayers returns the layer list that is the network of spec (kind
// mlp or cnn) and the map from its parameter names to spec's.
func presetAsLayers(t *testing.T, spec model.Spec) (model.Spec, map[string]string) {
	t.Helper()
	var net []model.Layer
	names := map[string]string{}
	dense := func(prefix int, hidden []int) {
		for i, h := range append(slices.Clone(hidden), spec.Classes) {
			names[fmt.Sprintf("layers.%d.weight", len(net))] = fmt.Sprintf("fc%d.weight", i+prefix)
			names[fmt.Sprintf("layers.%d.bias", len(net))] = fmt.Sprintf("fc%d.bias", i+prefix)
			net = append(net, model.Layer{Type: "linear", Out: h})
			if i < len(hidden) {
				net = append(net, model.Layer{Type: "relu"})
			}
		}
	}
	switch spec.Kind {
	case "mlp":
		net = append(net, model.Layer{Type: "flatten"})
		dense(0, spec.Hidden)
	case "cnn":
		for i, conv := range []model.Layer{{Type: "conv2d", Out: 6, Kernel: 5, Pad: 2}, {Type: "conv2d", Out: 16, Kernel: 5}} {
			names[fmt.Sprintf("layers.%d.weight", len(net))] = fmt.Sprintf("conv%d.weight", i)
			names[fmt.Sprintf("layers.%d.bias", len(net))] = fmt.Sprintf("conv%d.bias", i)
			net = append(net, conv, model.Layer{Type: "relu"}, model.Layer{Type: "maxpool", Size: 2})
		}
		net = append(net, model.Layer{Type: "flatten"})
		hidden := spec.Hidden
		if len(hidden) == 0 {
			hidden = []int{120, 84}
		}
		dense(0, hidden)
	default:
		t.Fatalf("no layer list for kind %s", spec.Kind)
	}
	return model.Spec{Kind: "layers", Input: spec.Input, Classes: spec.Classes, Loss: spec.Loss, Net: net}, names
}

// TestLayersExpressPresets: the layer lists of kind mlp (hidden [32]) and
// of kind cnn (LeNet) give the built-in kinds' loss and gradients, with
// the parameters copied across the two layouts.
func TestLayersExpressPresets(t *testing.T) {
	for _, spec := range []model.Spec{
		{Kind: "mlp", Hidden: []int{32}, Input: []int{1, 6, 6}, Classes: 5, Loss: "xent"},
		{Kind: "mlp", Hidden: []int{32}, Input: []int{20}, Classes: 4, Loss: "mse"},
		{Kind: "cnn", Input: []int{1, 28, 28}, Classes: 10, Loss: "xent"},
		{Kind: "cnn", Hidden: []int{7}, Input: []int{2, 13, 15}, Classes: 3, Loss: "mse"},
	} {
		t.Run(fmt.Sprintf("%s/%v/%s", spec.Kind, spec.Input, spec.Loss), func(t *testing.T) {
			const batch = 5
			ls, names := presetAsLayers(t, spec)
			if err := ls.Validate(); err != nil {
				t.Fatal(err)
			}
			pre := newModel(t, spec, batch, 3)
			lay := newModel(t, ls, batch, 4)
			withNonZeroBiases(pre)
			preT := map[string]model.Tensor{}
			for _, ts := range pre.Layout() {
				preT[ts.Name] = ts
			}
			if len(pre.Params()) != len(lay.Params()) || len(pre.Layout()) != len(lay.Layout()) {
				t.Fatalf("%d params in %d tensors, the layer list has %d in %d", len(pre.Params()), len(pre.Layout()), len(lay.Params()), len(lay.Layout()))
			}
			for _, ts := range lay.Layout() {
				p, ok := preT[names[ts.Name]]
				if !ok || !slices.Equal(p.Shape, ts.Shape) {
					t.Fatalf("%s %v has no counterpart (%q %v)", ts.Name, ts.Shape, names[ts.Name], p.Shape)
				}
				copy(lay.Params()[ts.Offset:ts.Offset+ts.Size()], pre.Params()[p.Offset:p.Offset+p.Size()])
			}
			x, y := randomBatch(spec, batch, 11)
			lp, err := pre.ForwardBackward(x, y)
			if err != nil {
				t.Fatal(err)
			}
			ll, err := lay.ForwardBackward(x, y)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(float64(lp-ll)) > 1e-5*math.Abs(float64(lp)) {
				t.Fatalf("loss %v as layers, %v as %s", ll, lp, spec.Kind)
			}
			for _, ts := range lay.Layout() {
				p := preT[names[ts.Name]]
				got, want := lay.Grads()[ts.Offset:ts.Offset+ts.Size()], pre.Grads()[p.Offset:p.Offset+p.Size()]
				if i, ok := closeTo(got, want, 1e-5); !ok {
					t.Errorf("%s[%d]: gradient %v as layers, %v as %s", ts.Name, i, got[i], want[i], p.Name)
				}
			}
			sp, cp, err := pre.Evaluate(x, y)
			if err != nil {
				t.Fatal(err)
			}
			sl, cl, err := lay.Evaluate(x, y)
			if err != nil {
				t.Fatal(err)
			}
			if cp != cl || math.Abs(sp-sl) > 1e-5*math.Abs(sp) {
				t.Errorf("Evaluate: %v, %d as layers, %v, %d as %s", sl, cl, sp, cp, spec.Kind)
			}
		})
	}
}

// TestLayersLeNetBlockFusion: conv2d → relu → maxpool 2 runs as the cnn
// kind's fused block; the same network kept apart by a dropout of p 0
// (which is no kernel) runs the general kernels, with the same loss,
// gradients and evaluation.
func TestLayersLeNetBlockFusion(t *testing.T) {
	odd := model.Spec{Kind: "layers", Input: []int{1, 7, 9}, Classes: 3, Loss: "xent", Net: []model.Layer{
		{Type: "conv2d", Out: 2, Kernel: 2, Pad: 3}, {Type: "relu"}, {Type: "maxpool", Size: 2}, // [2 6 7]
		{Type: "conv2d", Out: 7, Kernel: 4}, {Type: "relu"}, {Type: "maxpool", Size: 2}, // [7 1 2]
		{Type: "flatten"},
		{Type: "linear", Out: 3},
	}}
	for _, tc := range []struct {
		spec  model.Spec
		batch int
	}{{layersLeNet, 5}, {withLoss(layersLeNet, "mse"), 5}, {odd, 1}, {odd, 17}} {
		spec, batch := tc.spec, tc.batch
		apart := spec
		apart.Net = nil
		for _, l := range spec.Net {
			apart.Net = append(apart.Net, l)
			if l.Type == "conv2d" {
				apart.Net = append(apart.Net, model.Layer{Type: "dropout"})
			}
		}
		fused := newModel(t, spec, batch, 3)
		withNonZeroBiases(fused)
		general := newModel(t, apart, batch, 4)
		if len(fused.Layout()) != len(general.Layout()) {
			t.Fatalf("layouts %v and %v", fused.Layout(), general.Layout())
		}
		copy(general.Params(), fused.Params()) // the same tensors in the same order
		x, y := randomBatch(spec, batch, 5)
		lf, err := fused.ForwardBackward(x, y)
		if err != nil {
			t.Fatal(err)
		}
		lg, err := general.ForwardBackward(x, y)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(float64(lf-lg)) > 1e-5*math.Abs(float64(lf)) {
			t.Fatalf("%s: loss %v fused, %v apart", spec.Loss, lf, lg)
		}
		for _, ts := range fused.Layout() {
			if i, ok := closeTo(general.Grads()[ts.Offset:ts.Offset+ts.Size()], fused.Grads()[ts.Offset:ts.Offset+ts.Size()], 1e-5); !ok {
				t.Errorf("%s: %s[%d] gradient %v apart, %v fused", spec.Loss, ts.Name, i, general.Grads()[ts.Offset+i], fused.Grads()[ts.Offset+i])
			}
		}
		sf, cf, err := fused.Evaluate(x, y)
		if err != nil {
			t.Fatal(err)
		}
		sg, cg, err := general.Evaluate(x, y)
		if err != nil {
			t.Fatal(err)
		}
		if cf != cg || math.Abs(sf-sg) > 1e-5*math.Abs(sf) {
			t.Errorf("Evaluate: %v, %d fused, %v, %d apart", sf, cf, sg, cg)
		}
	}
}

// mnistCNN is a small convolutional network for the embedded MNIST.
var mnistCNN = model.Spec{Kind: "layers", Input: []int{1, 28, 28}, Classes: 10, Loss: "xent", Net: []model.Layer{
	{Type: "conv2d", Out: 4, Kernel: 5, Stride: 2}, // [4 12 12]
	{Type: "relu"},
	{Type: "maxpool", Size: 2}, // [4 6 6]
	{Type: "flatten"},
	{Type: "dropout", P: 0.1},
	{Type: "layernorm"},
	{Type: "linear", Out: 32},
	{Type: "gelu"},
	{Type: "linear", Out: 10},
}}

// TestLayersLearnsMNIST: a few hundred SGD steps on the embedded MNIST
// reach clearly better than chance on its test split.
func TestLayersLearnsMNIST(t *testing.T) {
	train, test, err := data.Default()
	if err != nil {
		t.Fatal(err)
	}
	const (
		batch = 16
		steps = 300
		lr    = 0.05
	)
	start := time.Now()
	m := newModel(t, mnistCNN, batch, 1)
	p, g := m.Params(), m.Grads()
	for s := range steps {
		lo := (s * batch) % (train.N - batch)
		x, y := train.X[lo*train.Dim:(lo+batch)*train.Dim], train.Y[lo:lo+batch]
		if _, err := m.ForwardBackwardWith(x, y, model.Pass{Seed: uint64(s)}); err != nil {
			t.Fatal(err)
		}
		for i := range p {
			p[i] -= lr * g[i]
		}
	}
	const n = 1000
	_, correct, err := m.Evaluate(test.X[:n*test.Dim], test.Y[:n])
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("accuracy %d/%d after %d steps of %d in %v", correct, n, steps, batch, time.Since(start))
	if correct < n*8/10 {
		t.Fatalf("accuracy %d/%d after %d steps, want >= 80%% (chance is 10%%)", correct, n, steps)
	}
}

// TestLayersDeterministic: two models with the same seeds compute the
// same bits, dropout included; another Pass.Seed draws another mask.
func TestLayersDeterministic(t *testing.T) {
	const batch = 4
	run := func(seed uint64) (float32, []float32) {
		m := newModel(t, mnistCNN, batch, 9)
		x, y := randomBatch(mnistCNN, batch, 2)
		l, err := m.ForwardBackwardWith(x, y, model.Pass{Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return l, slices.Clone(m.Grads())
	}
	l1, g1 := run(7)
	l2, g2 := run(7)
	if math.Float32bits(l1) != math.Float32bits(l2) || !testutil.BitsEqual(g1, g2) {
		t.Fatalf("two runs differ: loss %v, %v", l1, l2)
	}
	if l3, g3 := run(8); l3 == l1 || testutil.BitsEqual(g1, g3) {
		t.Fatalf("Pass.Seed 8 gives the same pass as 7: dropout is not drawn from it")
	}
}

// TestLayersAccumulateEqualsOneBatch: K micro-batches accumulated with
// GradScale 1/K give the gradient of one batch of all their samples.
func TestLayersAccumulateEqualsOneBatch(t *testing.T) {
	for _, spec := range []model.Spec{layersConv, withLoss(layersDense, "mse"), layersLeNet} {
		t.Run(fmt.Sprint(spec.Input), func(t *testing.T) {
			checkAccumulation(t, spec, 3, 3)
		})
	}
}

// TestLayersHooksAndAllocations: with buckets, every bucket is waited for
// once before its parameters are read (they are written only inside the
// hook) and announced once when its gradients are final; a steady-state
// pass allocates nothing.
func TestLayersHooksAndAllocations(t *testing.T) {
	for _, spec := range []model.Spec{layersConv, layersDense, mnistCNN, layersLeNet} {
		t.Run(strings.Trim(fmt.Sprint(spec.Input), "[]"), func(t *testing.T) {
			const batch = 3
			m := newModel(t, spec, batch, 7)
			m.SetBucketBytes(128)
			x, y := randomBatch(spec, batch, 8)
			checkHooks(t, m, x, y)
			h := model.Hooks{WaitParams: func(int) {}, GradReady: func(int) {}}
			if n := testing.AllocsPerRun(10, func() { m.ForwardBackwardWith(x, y, model.Pass{Hooks: h, Accumulate: true}) }); n > 0 {
				t.Errorf("%v allocations per pass", n)
			}
		})
	}
}
