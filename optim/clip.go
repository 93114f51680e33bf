package optim

import "math"

// SumSquares returns the sum of x[i]^2 accumulated in float64. For
// global-norm clipping over shards, all-reduce the per-shard sums and take
// the square root. The sum uses four interleaved accumulators (added
// together at the end), so it may differ from a sequential sum in the last
// bits; it is deterministic for a given x.
func SumSquares(x []float32) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		a, b, c, d := float64(x[i]), float64(x[i+1]), float64(x[i+2]), float64(x[i+3])
		s0 += a * a
		s1 += b * b
		s2 += c * c
		s3 += d * d
	}
	for ; i < len(x); i++ {
		a := float64(x[i])
		s0 += a * a
	}
	return (s0 + s1) + (s2 + s3)
}

// ClipFactor returns the factor that scales gradients of norm globalNorm
// down to at most maxNorm: min(1, maxNorm/globalNorm). It is 1 when
// clipping is off (maxNorm <= 0), when the norm is already within bounds,
// and when globalNorm is NaN or infinite (scaling cannot repair a
// non-finite gradient; detect that separately).
func ClipFactor(globalNorm, maxNorm float64) float32 {
	if !(maxNorm > 0) || math.IsNaN(globalNorm) || math.IsInf(globalNorm, 0) || globalNorm <= maxNorm {
		return 1
	}
	return float32(maxNorm / globalNorm)
}

// Scale multiplies every element of x by f in place.
func Scale(x []float32, f float32) {
	if f == 1 {
		return
	}
	for i := range x {
		x[i] *= f
	}
}
