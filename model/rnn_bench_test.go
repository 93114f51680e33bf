package model_test

import "testing"

// Benchmarks of one ForwardBackward of the recurrent models in the
// configuration of the PyTorch peer (/work/shared/bench/char_gpt.py
// --model lstm: batch 12, context 64, Embed 128, two layers of 256, vocab
// 65; its step also runs AdamW and gradient clipping), on one thread:
//
//	GOMAXPROCS=1 go test -run '^$' -bench 'LSTMStep|GRUStep' -benchmem -benchtime=20x ./model/

// BenchmarkLSTMStep: the anchor lstm, batch 12.
func BenchmarkLSTMStep(b *testing.B) { benchStep(b, rnnAnchor("lstm"), 12) }

// BenchmarkGRUStep: the same with gru layers.
func BenchmarkGRUStep(b *testing.B) { benchStep(b, rnnAnchor("gru"), 12) }
