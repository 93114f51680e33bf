package model_test

import (
	"testing"

	"github.com/ringtrain/ringtrain/model"
)

// Benchmarks of one ForwardBackward (the optimizer update is not
// included). Compare the default build with -tags openblas
// (CGO_LDFLAGS=-lopenblas, OPENBLAS_NUM_THREADS=1), e.g.
//
//	go test -run XXX -bench Step -benchtime=50x ./model/

// BenchmarkMLPStep: MLP 784-512-256-10, batch 64, xent.
func BenchmarkMLPStep(b *testing.B) {
	benchStep(b, model.Spec{Kind: "mlp", Hidden: []int{512, 256}, Input: []int{784}, Classes: 10, Loss: "xent"}, 64)
}

// BenchmarkCNNStep: LeNet-5 on 1x28x28, batch 64, xent.
func BenchmarkCNNStep(b *testing.B) {
	benchStep(b, model.Spec{Kind: "cnn", Input: []int{1, 28, 28}, Classes: 10, Loss: "xent"}, 64)
}

// benchStep times ForwardBackward on one random batch and reports ms/step
// and samples/s (tokens/s for a sequence model).
func benchStep(b *testing.B, spec model.Spec, batch int) {
	m := newModel(b, spec, batch, 1)
	x, y := randomBatch(spec, batch, 2)
	if spec.Sequence() {
		x, y = tokenBatch(spec, batch, 2)
	}
	if _, err := m.ForwardBackward(x, y); err != nil { // warm up: allocates the dual values
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := m.ForwardBackward(x, y); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	ms := float64(b.Elapsed().Nanoseconds()) / 1e6 / float64(b.N)
	b.ReportMetric(ms, "ms/step")
	if spec.Sequence() {
		b.ReportMetric(float64(len(y))/ms*1000, "tokens/s")
	} else {
		b.ReportMetric(float64(batch)/ms*1000, "samples/s")
	}
	b.Logf("BLAS %s", model.BLAS)
}

// BenchmarkMLPEvaluate: forward only, 1024 samples per op (4 chunks).
func BenchmarkMLPEvaluate(b *testing.B) {
	spec := model.Spec{Kind: "mlp", Hidden: []int{512, 256}, Input: []int{784}, Classes: 10, Loss: "xent"}
	m := newModel(b, spec, 64, 1)
	x, y := randomBatch(spec, 1024, 2)
	if _, _, err := m.Evaluate(x, y); err != nil { // builds the eval graph
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, _, err := m.Evaluate(x, y); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(1024*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkNew: building the MLP's training graph (done once per batch
// size, e.g. after an elastic resize).
func BenchmarkNew(b *testing.B) {
	spec := model.Spec{Kind: "mlp", Hidden: []int{512, 256}, Input: []int{784}, Classes: 10, Loss: "xent"}
	for range b.N {
		m, err := model.New(spec, 64)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
