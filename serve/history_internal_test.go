package serve

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestBucketQuantile checks the histogram estimate against the dumb
// reference, the exact quantile of the sorted observations: both fall in
// the same bucket.
func TestBucketQuantile(t *testing.T) {
	bounds := prometheus.ExponentialBuckets(50e-6, 2, 18)
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 50 {
		m := newMetrics(func() float64 { return 0 }, func() float64 { return 0 })
		n := 1 + rng.IntN(3000)
		obs := make([]float64, n)
		for i := range obs {
			obs[i] = math.Exp(rng.NormFloat64()*1.5 - 7) // around 1 ms, wide
			m.observe([]string{"infer", "predict"}[i%2], 200, time.Duration(obs[i]*1e9))
			obs[i] = time.Duration(obs[i] * 1e9).Seconds()
		}
		c := gatherCounts(m.reg)
		if c.latN != uint64(n) || !slices.Equal(c.bounds, bounds) {
			t.Fatalf("gathered %d observations in bounds %v, want %d in %v", c.latN, c.bounds, n, bounds)
		}
		slices.Sort(obs)
		for _, q := range []float64{0.5, 0.99, 0.999} {
			got := bucketQuantile(q, c.bounds, c.cum, c.latN)
			exact := obs[max(int(math.Ceil(q*float64(n)))-1, 0)]
			i, _ := slices.BinarySearch(bounds, exact) // the bucket holding exact: (bounds[i-1], bounds[i]]
			lo, hi := 0.0, math.Inf(1)
			if i > 0 {
				lo = bounds[i-1]
			}
			if i < len(bounds) {
				hi = bounds[i]
			} else {
				lo, hi = bounds[len(bounds)-1], bounds[len(bounds)-1] // beyond the last bound: that bound
			}
			if got < lo || got > hi {
				t.Fatalf("trial %d, %d observations: q%.3f = %g, the exact %g is in [%g, %g]", trial, n, q, got, exact, lo, hi)
			}
		}
	}
}

// TestHistoryRing keeps the last historyLen samples, oldest first, and
// computes each interval's figures from the differences.
func TestHistoryRing(t *testing.T) {
	t0 := time.Unix(1000, 0)
	h := newHistory(t0, 1)
	bounds := []float64{0.001, 0.01}
	for i := range historyLen + 7 {
		// each second: 10 more requests, all under 1 ms; 2 more batches of 5
		k := uint64(10 * (i + 1))
		h.observe(t0.Add(time.Duration(i+1)*time.Second), counts{bounds: bounds, cum: []uint64{k, k}, latN: k, batchSum: float64(10 * (i + 1)), batchN: uint64(2 * (i + 1)), queue: float64(i)})
	}
	s := h.samples()
	if len(s) != historyLen {
		t.Fatalf("%d samples kept, want %d", len(s), historyLen)
	}
	if s[0].queue != 7 || s[len(s)-1].queue != historyLen+6 {
		t.Errorf("samples from queue %v to %v, want 7 to %d (oldest first)", s[0].queue, s[len(s)-1].queue, historyLen+6)
	}
	for _, x := range s {
		if x.rate != 10 || x.batch != 5 || !(x.p50 > 0 && x.p50 <= 0.001) {
			t.Fatalf("sample %+v: want 10 requests/s, batches of 5, p50 under 1 ms", x)
		}
	}
	h.observe(t0.Add(time.Hour), counts{bounds: bounds, cum: []uint64{3070, 3070}, latN: 3070, batchSum: 3070, batchN: 614})
	if last := h.samples()[historyLen-1]; !math.IsNaN(last.p50) || !math.IsNaN(last.batch) || last.rate != 0 {
		t.Errorf("an idle interval: %+v, want no latency, no batch size, rate 0", last)
	}
}
