package optim

import (
	"fmt"
	"testing"
	"time"
)

// mlpParams is the parameter count of the MLP the worker trains; the
// per-optimizer benchmarks use it so that ns/op is the cost of one Step of
// that model on one rank.
const mlpParams = 535_818

// BenchmarkStep measures one Step over the MLP's 535,818 parameters per
// optimizer configuration (ns/op, 0 allocs).
func BenchmarkStep(b *testing.B) {
	for _, tc := range specCases {
		b.Run(tc.name, func(b *testing.B) {
			o := mustNew(b, tc.spec, mlpParams)
			p, g := initParams(mlpParams, 1), initParams(mlpParams, 2)
			b.SetBytes(mlpParams * 4)
			b.ReportAllocs()
			for b.Loop() {
				o.Step(p, g, 1e-4)
			}
		})
	}
}

// BenchmarkAdamWBandwidth reports how close an AdamW Step comes to memory
// bandwidth: bytes moved per second by the update (it reads p, g, m, v and
// writes p, m, v: 7 x 4 bytes per element) against the bandwidth of copy()
// between two []float32 of the same length measured in the same run (read
// plus write: 8 bytes per element), and their ratio frac_of_memcpy. Both
// figures are the best of several repetitions, so that a burst of load from
// other processes on a shared machine lowers neither.
//
// n=4Mi (16 MiB a slice) is the size the issue names; a last-level cache
// of more than 80 MiB (the development machine has 300 MiB) holds both the
// copy's 32 MiB and the update's 80 MiB. n=64Mi (256 MiB a slice, 1.5 GiB
// in all) streams both from memory there.
func BenchmarkAdamWBandwidth(b *testing.B) {
	for _, n := range []int{4 << 20, 64 << 20} {
		b.Run(fmt.Sprintf("n=%dMi", n>>20), func(b *testing.B) { benchAdamWBandwidth(b, n) })
	}
}

func benchAdamWBandwidth(b *testing.B, n int) {
	src, dst := initParams(n, 1), make([]float32, n)
	copy(dst, src) // fault the pages in before timing
	memcpy := bestOf(8, func() { copy(dst, src) })

	o := mustNew(b, Spec{Name: "adamw", WeightDecay: 1e-2}, n)
	p, g := initParams(n, 3), initParams(n, 4)
	o.Step(p, g, 1e-4) // fault in m and v
	b.ReportAllocs()
	b.ResetTimer()
	best := time.Duration(1<<63 - 1)
	for b.Loop() {
		start := time.Now()
		o.Step(p, g, 1e-4)
		best = min(best, time.Since(start))
	}
	b.StopTimer()

	memcpyBps := 8 * float64(n) / memcpy.Seconds()
	adamwBps := 7 * 4 * float64(n) / best.Seconds()
	b.ReportMetric(adamwBps, "adamw_B/s")
	b.ReportMetric(memcpyBps, "memcpy_B/s")
	b.ReportMetric(adamwBps/memcpyBps, "frac_of_memcpy")
}

// bestOf returns the shortest of reps timed runs of f.
func bestOf(reps int, f func()) time.Duration {
	best := time.Duration(1<<63 - 1)
	for range reps {
		start := time.Now()
		f()
		best = min(best, time.Since(start))
	}
	return best
}

func BenchmarkSumSquares(b *testing.B) {
	x := initParams(1<<20, 1)
	b.SetBytes(int64(len(x)) * 4)
	for b.Loop() {
		_ = SumSquares(x)
	}
}
