package model

import (
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
		b.Run(spec.Kind, func(b *testing.B) {
			m, err := New(spec, 64)
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			if err := InitParams(spec, m.Params(), 1); err != nil {
				b.Fatal(err)
			}
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
