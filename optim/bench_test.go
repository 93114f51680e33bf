package optim

import "testing"

// BenchmarkStep measures one Step over a 1 Mi-element shard per optimizer.
func BenchmarkStep(b *testing.B) {
	const n = 1 << 20
	for _, tc := range specCases {
		b.Run(tc.name, func(b *testing.B) {
			o := mustNew(b, tc.spec, n)
			p, g := initParams(n, 1), initParams(n, 2)
			b.SetBytes(n * 4)
			for b.Loop() {
				o.Step(p, g, 1e-4)
			}
		})
	}
}

func BenchmarkSumSquares(b *testing.B) {
	x := initParams(1<<20, 1)
	b.SetBytes(int64(len(x)) * 4)
	for b.Loop() {
		_ = SumSquares(x)
	}
}
