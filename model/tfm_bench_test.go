package model

import (
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// tfmAnchor is the anchor configuration of the transformer's performance
// goal: nanoGPT's CPU shakespeare_char model (bench/char_gpt.py), batch 12.
var tfmAnchor = Spec{Kind: KindTransformer, Input: []int{64}, Classes: 65, Embed: 128, Layers: 4, Heads: 4, Loss: LossXent}

const tfmAnchorBatch = 12

// blockIndex matches the block number in a kernel name.
var blockIndex = regexp.MustCompile(`block[0-9]+\.`)

// BenchmarkTransformerKernels times every kernel of the anchor
// transformer's training program and reports the mean ms per pass of
// each kind of kernel, summed over the blocks (block0.attn and block3.attn
// are both blockN.attn), largest first: where a step's time goes.
//
//	GOMAXPROCS=1 go test -run '^$' -bench TransformerKernels ./model/
func BenchmarkTransformerKernels(b *testing.B) {
	m, err := New(tfmAnchor, tfmAnchorBatch)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	if err := InitParams(tfmAnchor, m.Params(), 1); err != nil {
		b.Fatal(err)
	}
	x := m.train.net.xbuf
	for i := range x {
		x[i] = float32(i * 7 % tfmAnchor.Classes)
	}
	y := make([]int32, len(x))
	for i := range y {
		y[i] = int32(i * 13 % tfmAnchor.Classes)
	}
	fillTargets(m.train.tbuf, y, tfmAnchor.Classes, tfmAnchor.Loss)
	p := m.train.prog
	p.ctx.reset(Hooks{}, 1)
	p.run(false)
	spent := make([]time.Duration, len(p.steps))
	b.ResetTimer()
	for range b.N {
		p.ctx.reset(Hooks{}, 1)
		for i := range p.steps {
			s := &p.steps[i]
			t0 := time.Now()
			p.ctx.grad = s.grad
			s.k.run(&p.ctx, s.out, s.in, false)
			spent[i] += time.Since(t0)
		}
	}
	b.StopTimer()
	byKind := make(map[string]time.Duration)
	for i, d := range spent {
		name := blockIndex.ReplaceAllString(p.steps[i].k.String(), "blockN.")
		if strings.HasPrefix(name, "add#") {
			name = "add"
		}
		byKind[strings.ReplaceAll(name, "'", "_grad")] += d
	}
	names := make([]string, 0, len(byKind))
	for n := range byKind {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return byKind[names[i]] > byKind[names[j]] })
	for _, n := range names {
		b.ReportMetric(float64(byKind[n].Microseconds())/1e3/float64(b.N), n+"_ms")
	}
}
