package quant

import (
	"testing"

	"github.com/ringtrain/ringtrain/model"
)

// benchModels returns the float model, its int8 quantization and n inputs
// for the benchmarks' models: the default MLP (784-256-10) or the LeNet
// CNN on MNIST shapes.
func benchModels(b *testing.B, name string, n int) (*model.Model, *Model, []float32) {
	b.Helper()
	spec := map[string]model.Spec{
		"mlp": {Kind: model.KindMLP, Hidden: []int{256}, Input: []int{1, 28, 28}, Classes: 10, Loss: model.LossXent},
		"cnn": {Kind: model.KindCNN, Input: []int{1, 28, 28}, Classes: 10, Loss: model.LossXent},
	}[name]
	fm, x := floatModel(b, spec, n)
	q, err := Quantize(spec, fm.Params(), x)
	if err != nil {
		b.Fatal(err)
	}
	return fm, q, x
}

// BenchmarkForward compares the int8 forward pass with the float model's
// (model.Forward, the path serve runs for a float export) on the default
// MNIST shapes: the default MLP (784-256-10) and the LeNet CNN, 64 samples
// per call. Initialized weights: the time does not depend on the values.
func BenchmarkForward(b *testing.B) {
	const n = 64
	for _, name := range []string{"mlp", "cnn"} {
		fm, q, x := benchModels(b, name, n)
		b.Run(name+"/float32", func(b *testing.B) {
			for b.Loop() {
				if _, err := fm.Forward(x); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/sample")
		})
		b.Run(name+"/int8", func(b *testing.B) {
			for b.Loop() {
				if _, err := q.Forward(x); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/sample")
		})
	}
}

// BenchmarkInt8Kernels runs BenchmarkForward's int8 models by each path
// this CPU has: the SIMD pass with each assembly kernel (avx2 on any AVX2
// CPU; avx512vnni where the CPU has AVX-512 VNNI, which Forward then
// picks) and the portable packed-pairs Go loop (CPUs without AVX2).
func BenchmarkInt8Kernels(b *testing.B) {
	const n = 64
	for _, name := range []string{"mlp", "cnn"} {
		_, q, x := benchModels(b, name, n)
		paths := map[string]*runner{}
		for kname, k := range asmKernels() {
			r := newRunner(q.steps)
			r.portable, r.kernel = false, k
			paths[kname] = r
		}
		r := newRunner(q.steps)
		r.portable = true
		paths["portable"] = r
		for _, pname := range []string{"avx2", "avx512vnni", "portable"} {
			r, ok := paths[pname]
			if !ok {
				continue
			}
			b.Run(name+"/"+pname, func(b *testing.B) {
				for b.Loop() {
					if _, err := r.int8Samples(q.steps, x, n); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/sample")
			})
		}
	}
}
