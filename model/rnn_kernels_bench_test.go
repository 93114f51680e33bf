package model

import (
	"sort"
	"strings"
	"testing"
	"time"
)

// BenchmarkRNNKernels times every kernel of the anchor lstm and gru
// training programs (batch 12, context 64, Embed 128, two layers of 256,
// vocab 65) and reports the mean ms per pass of each, by kernel name:
//
//	GOMAXPROCS=1 go test -run '^$' -bench RNNKernels -benchtime=10x ./model/
func BenchmarkRNNKernels(b *testing.B) {
	for _, kind := range []string{KindLSTM, KindGRU} {
		spec := Spec{Kind: kind, Input: []int{64}, Classes: 65, Embed: 128, Hidden: []int{256, 256}, Loss: LossXent}
		b.Run(kind, func(b *testing.B) {
			m, err := New(spec, 12)
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
			fillTargets(m.train.tbuf, make([]int32, len(x)), spec.Classes, spec.Loss)
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
					s.k.run(&p.ctx, s.out, s.in, false)
					spent[i] += time.Since(t0)
				}
			}
			b.StopTimer()
			order := make([]int, len(spent))
			for i := range order {
				order[i] = i
			}
			sort.Slice(order, func(i, j int) bool { return spent[order[i]] > spent[order[j]] })
			for _, i := range order {
				name := strings.ReplaceAll(p.steps[i].k.String(), "'", "_grad")
				b.ReportMetric(float64(spent[i].Microseconds())/1e3/float64(b.N), name+"_ms")
			}
		})
	}
}
