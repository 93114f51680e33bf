package model

import "testing"

// tfmAnchor is the anchor configuration of the transformer's performance
// goal: nanoGPT's CPU shakespeare_char model (bench/char_gpt.py), batch 12.
var tfmAnchor = Spec{Kind: KindTransformer, Input: []int{64}, Classes: 65, Embed: 128, Layers: 4, Heads: 4, Loss: LossXent}

const tfmAnchorBatch = 12

// BenchmarkTransformerKernels times every kernel of the anchor
// transformer's training program and reports the mean ms per pass of
// each kind of kernel, summed over the blocks (block0.attn and block3.attn
// are both blockN.attn), largest first: where a step's time goes.
//
//	GOMAXPROCS=1 go test -run '^$' -bench TransformerKernels ./model/
func BenchmarkTransformerKernels(b *testing.B) { benchKernels(b, tfmAnchor, tfmAnchorBatch) }
