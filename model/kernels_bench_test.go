package model

import (
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// BenchmarkKernels times every kernel of the MLP and LeNet training
// programs (batch 64) and reports the mean ms per pass of each, by kernel
// name: where a step's time goes, without a profiler.
//
//	GOMAXPROCS=1 go test -run '^$' -bench Kernels ./model/
func BenchmarkKernels(b *testing.B) {
	for _, spec := range []Spec{
		{Kind: KindMLP, Hidden: []int{512, 256}, Input: []int{784}, Classes: 10, Loss: LossXent},
		{Kind: KindCNN, Input: []int{1, 28, 28}, Classes: 10, Loss: LossXent},
	} {
		b.Run(spec.Kind, func(b *testing.B) { benchKernels(b, spec, 64) })
	}
}

// blockIndex matches the block number in a kernel name.
var blockIndex = regexp.MustCompile(`block[0-9]+\.`)

// benchKernels runs spec's training program for batch samples kernel by
// kernel (inputs and labels filled deterministically) and reports the mean
// ms per pass of each kind of kernel, largest first: the blocks of a
// transformer summed (block0.attn and block3.attn are both blockN.attn),
// like gorgonia's Adds of gradients ("add").
func benchKernels(b *testing.B, spec Spec, batch int) {
	m, err := New(spec, batch)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	if err := InitParams(spec, m.Params(), 1); err != nil {
		b.Fatal(err)
	}
	x := m.train.net.xbuf
	for i := range x {
		x[i] = float32(i * 7 % spec.Classes)
	}
	y := make([]int32, len(m.train.tbuf)/spec.Classes)
	for i := range y {
		y[i] = int32(i * 13 % spec.Classes)
	}
	fillTargets(m.train.tbuf, y, spec.Classes, spec.Loss)
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
