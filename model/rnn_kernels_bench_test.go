package model

import "testing"

// BenchmarkRNNKernels times every kernel of the anchor lstm and gru
// training programs (batch 12, context 64, Embed 128, two layers of 256,
// vocab 65) and reports the mean ms per pass of each, by kernel name:
//
//	GOMAXPROCS=1 go test -run '^$' -bench RNNKernels -benchtime=10x ./model/
func BenchmarkRNNKernels(b *testing.B) {
	for _, kind := range []string{KindLSTM, KindGRU} {
		spec := Spec{Kind: kind, Input: []int{64}, Classes: 65, Embed: 128, Hidden: []int{256, 256}, Loss: LossXent}
		b.Run(kind, func(b *testing.B) { benchKernels(b, spec, 12) })
	}
}
