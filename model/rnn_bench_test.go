package model_test

import (
	"testing"

	"github.com/ringtrain/ringtrain/model"
)

// Benchmarks of one ForwardBackward of the recurrent models in the
// configuration of the PyTorch peer (/work/shared/bench/char_gpt.py
// --model lstm: batch 12, context 64, Embed 128, two layers of 256, vocab
// 65; its step also runs AdamW and gradient clipping), on one thread:
//
//	GOMAXPROCS=1 go test -run '^$' -bench 'LSTMStep|GRUStep' -benchmem -benchtime=20x ./model/

// BenchmarkLSTMStep: the anchor lstm, batch 12.
func BenchmarkLSTMStep(b *testing.B) { benchTokenStep(b, rnnAnchor("lstm"), 12) }

// BenchmarkGRUStep: the same with gru layers.
func BenchmarkGRUStep(b *testing.B) { benchTokenStep(b, rnnAnchor("gru"), 12) }

// benchTokenStep times ForwardBackward of a sequence model on random
// windows and reports ms/step and tokens/s.
func benchTokenStep(b *testing.B, spec model.Spec, batch int) {
	m := newModel(b, spec, batch, 1)
	x, y := tokenBatch(spec, batch, 2)
	if _, err := m.ForwardBackward(x, y); err != nil {
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
	b.ReportMetric(float64(len(y))/ms*1000, "tokens/s")
	b.Logf("BLAS %s", model.BLAS)
}
