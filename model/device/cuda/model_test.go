//go:build gpu

package cuda

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/model"
)

// gpuSpecs are the networks whose GPU gradients are checked against the
// CPU engine's.
var gpuSpecs = []struct {
	name  string
	spec  model.Spec
	batch int
}{
	{"softmax regression", model.Spec{Kind: model.KindMLP, Input: []int{7}, Classes: 3, Loss: model.LossXent}, 5},
	{"mlp xent odd sizes", model.Spec{Kind: model.KindMLP, Input: []int{1, 6, 6}, Hidden: []int{17, 33}, Classes: 10, Loss: model.LossXent}, 19},
	{"mlp mse", model.Spec{Kind: model.KindMLP, Input: []int{20}, Hidden: []int{16}, Classes: 4, Loss: model.LossMSE}, 16},
	{"mnist mlp", model.Spec{Kind: model.KindMLP, Input: []int{28, 28}, Hidden: []int{256}, Classes: 10, Loss: model.LossXent}, 64},
	{"lenet", model.Spec{Kind: model.KindCNN, Input: []int{1, 28, 28}, Classes: 10, Loss: model.LossXent}, 16},
	{"cnn odd mse", model.Spec{Kind: model.KindCNN, Input: []int{2, 13, 15}, Hidden: []int{9}, Classes: 4, Loss: model.LossMSE}, 5},
	{"layers", model.Spec{Kind: model.KindLayers, Input: []int{1, 12, 12}, Classes: 3, Loss: model.LossXent, Net: []model.Layer{
		{Type: model.LayerConv2D, Out: 4, Kernel: 3, Pad: 1}, {Type: model.LayerReLU}, {Type: model.LayerMaxPool, Size: 2},
		{Type: model.LayerFlatten}, {Type: model.LayerLinear, Out: 3}}}, 7},
	{"gpt (char_gpt.py's)", model.Spec{Kind: model.KindTransformer, Input: []int{64}, Classes: 65, Embed: 128, Layers: 4, Heads: 4, Loss: model.LossXent}, 12},
	{"gpt bias dropout", model.Spec{Kind: model.KindTransformer, Input: []int{8}, Classes: 11, Embed: 16, Layers: 2, Heads: 2, Bias: true, Dropout: 0.1, Loss: model.LossXent}, 3},
	{"lstm (char_gpt.py's)", model.Spec{Kind: model.KindLSTM, Input: []int{64}, Classes: 65, Embed: 128, Hidden: []int{256, 256}, Loss: model.LossXent}, 12},
	{"gru", model.Spec{Kind: model.KindGRU, Input: []int{6}, Classes: 9, Embed: 8, Hidden: []int{12, 10}, Loss: model.LossXent}, 4},
}

// testBatch is a deterministic batch of n samples: inputs in [-1, 1), or
// token ids for a sequence model; a label per target.
func testBatch(spec model.Spec, n int, seed uint64) ([]float32, []int32) {
	s := seed
	next := func() uint64 { // splitmix64
		s += 0x9e3779b97f4a7c15
		z := s
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		return z ^ (z >> 31)
	}
	x := make([]float32, n*spec.InputSize())
	for i := range x {
		x[i] = float32(float64(next()>>11)/(1<<53)*2 - 1)
		if spec.Sequence() {
			x[i] = float32(next() % uint64(spec.Classes))
		}
	}
	y := make([]int32, n*spec.Targets())
	for i := range y {
		y[i] = int32(next() % uint64(spec.Classes))
	}
	return x, y
}

// maxRelErr is max|got-want| / max(1, max|want|).
func maxRelErr(got, want []float32) (float64, int) {
	scale, worst, at := 1.0, 0.0, -1
	for _, w := range want {
		scale = max(scale, math.Abs(float64(w)))
	}
	for i := range want {
		if d := math.Abs(float64(got[i]) - float64(want[i])); d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
	}
	return worst / scale, at
}

// The GPU's loss, gradients (three SGD steps, each with its own pass seed
// for dropout) and evaluation against the CPU engine's, for every kind
// (tolerance 1e-5 of the largest gradient: the GPU sums in another order,
// and its approximate exp2/log2 differ by a few ulps).
func TestDeviceModelMatchesCPU(t *testing.T) {
	d := openT(t)
	for _, tc := range gpuSpecs {
		t.Run(tc.name, func(t *testing.T) {
			cpu, err := model.New(tc.spec, tc.batch)
			if err != nil {
				t.Fatal(err)
			}
			defer cpu.Close()
			gm, err := model.NewDeviceModel(tc.spec, tc.batch, d)
			if err != nil {
				t.Fatal(err)
			}
			defer gm.Close()
			if err := model.InitParams(tc.spec, cpu.Params(), 3); err != nil {
				t.Fatal(err)
			}
			copy(gm.Params(), cpu.Params())
			for step := range 3 {
				x, y := testBatch(tc.spec, tc.batch, uint64(10+step))
				p := model.Pass{Seed: uint64(7 + step)}
				lc, err := cpu.ForwardBackwardWith(x, y, p)
				if err != nil {
					t.Fatal(err)
				}
				lg, err := gm.ForwardBackwardWith(x, y, p)
				if err != nil {
					t.Fatal(err)
				}
				e, at := maxRelErr(gm.Grads(), cpu.Grads())
				t.Logf("step %d: loss GPU %.7f CPU %.7f; gradient max relative error %.2e (at %d)", step, lg, lc, e, at)
				if math.Abs(float64(lg-lc)) > 1e-5*(1+math.Abs(float64(lc))) || !(e <= 1e-5) {
					t.Fatalf("step %d: GPU and CPU differ", step)
				}
				for i, g := range cpu.Grads() {
					cpu.Params()[i] -= 0.5 * g
					gm.Params()[i] = cpu.Params()[i]
				}
			}
			x, y := testBatch(tc.spec, 300, 99)
			lc, cc, err := cpu.Evaluate(x, y)
			if err != nil {
				t.Fatal(err)
			}
			lg, cg, err := gm.Evaluate(x, y)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("evaluate: GPU loss %.6f correct %d; CPU %.6f, %d", lg, cg, lc, cc)
			if math.Abs(lc-lg) > 1e-5*(1+math.Abs(lc)) || cc != cg {
				t.Fatalf("evaluation differs")
			}
		})
	}
}

// benchModels are the networks BenchmarkStep times, at the batches of
// their peers in deploy/gpu/torch_step.py.
var benchModels = []struct {
	name    string
	spec    model.Spec
	batches []int
}{
	{"mlp", gpuSpecs[3].spec, []int{64, 1024}},
	{"lenet", gpuSpecs[4].spec, []int{64}},
	{"gpt", gpuSpecs[7].spec, []int{12}},
	{"lstm", gpuSpecs[9].spec, []int{12}},
}

// BenchmarkStep times one training pass of each model on the GPU and on
// the CPU engine, per batch size; the GPU/CPU ratio and the ratio to
// PyTorch eager on the same GPU are the figures of docs/benchmarks.md.
func BenchmarkStep(b *testing.B) {
	for _, bm := range benchModels {
		for _, batch := range bm.batches {
			benchStep(b, bm.name, bm.spec, batch)
		}
	}
}

func benchStep(b *testing.B, name string, spec model.Spec, batch int) {
	x, y := testBatch(spec, batch, 1)
	run := func(b *testing.B, m model.Engine) {
		if err := model.InitParams(spec, m.Params(), 1); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for b.Loop() {
			if _, err := m.ForwardBackwardWith(x, y, model.Pass{}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(batch)*float64(b.N)/time.Since(start).Seconds(), "samples/s")
	}
	b.Run(fmt.Sprintf("%s/gpu/batch=%d", name, batch), func(b *testing.B) {
		m, err := model.NewDeviceModel(spec, batch, openT(b))
		if err != nil {
			b.Fatal(err)
		}
		defer m.Close()
		run(b, m)
		// The copies' wall time per step: the parameters in (the
		// exposed copy before the forward pass) and the gradients out
		// (which also waits for the kernels ahead of each copy).
		c := m.Copies()
		b.ReportMetric(c.ParamsIn.Seconds()*1e3/float64(b.N), "params_in_ms/op")
		b.ReportMetric(c.GradsOut.Seconds()*1e3/float64(b.N), "grads_out_ms/op")
	})
	b.Run(fmt.Sprintf("%s/cpu/batch=%d", name, batch), func(b *testing.B) {
		m, err := model.New(spec, batch)
		if err != nil {
			b.Fatal(err)
		}
		defer m.Close()
		run(b, m)
	})
}
