package device_test

import (
	"math/rand/v2"
	"testing"

	"github.com/ringtrain/ringtrain/model/device"
)

// BenchmarkEmuSgemm measures the emulated device's sgemm (256³, what a
// training step on the emulated device pays per GEMM of that size).
func BenchmarkEmuSgemm(b *testing.B) {
	const n = 256
	e := newEmuEnv(b)
	r := rand.New(rand.NewPCG(1, 1))
	a, x := e.put(randn(r, n*n, 1)), e.put(randn(r, n*n, 1))
	c := e.put(make([]float32, n*n))
	for b.Loop() {
		if err := device.Sgemm(e.d, false, false, n, n, n, 1, a, n, x, n, 0, c, n); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(n*n*n), "ns/fma")
}
