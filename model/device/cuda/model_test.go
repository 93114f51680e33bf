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
}

// testBatch is a deterministic batch of n samples in [-1, 1).
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
	}
	y := make([]int32, n)
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

// The GPU's loss, gradients (three SGD steps) and evaluation against the
// CPU engine's, on the mlp (tolerance 1e-5 of the largest gradient: the
// GPU sums in another order).
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
				lc, err := cpu.ForwardBackward(x, y)
				if err != nil {
					t.Fatal(err)
				}
				lg, err := gm.ForwardBackwardWith(x, y, model.Pass{})
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
			x, y := testBatch(tc.spec, 1000, 99)
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

// BenchmarkStep times one training pass of the MNIST MLP (784-256-10) on
// the GPU and on the CPU engine, per batch size; the GPU/CPU ratio is the
// figure of docs/benchmarks.md.
func BenchmarkStep(b *testing.B) {
	spec := gpuSpecs[3].spec
	for _, batch := range []int{64, 1024} {
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
		b.Run(fmt.Sprintf("gpu/batch=%d", batch), func(b *testing.B) {
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
		b.Run(fmt.Sprintf("cpu/batch=%d", batch), func(b *testing.B) {
			m, err := model.New(spec, batch)
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			run(b, m)
		})
	}
}
