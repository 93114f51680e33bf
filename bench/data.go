package bench

import "math"

// fillInput writes rank's input. "pattern" is the ../shared/bench pattern,
// x_r[i] = (r+1)·(i%13+1), whose float32 sums are exact; "random" is a
// deterministic hash of (rank, i) in [-1, 1).
func fillInput(buf []float32, rank int, data string) {
	if data == "random" {
		for i := range buf {
			buf[i] = hashValue(rank, i)
		}
		return
	}
	r := float32(rank + 1)
	for i := range buf {
		buf[i] = r * float32(i%13+1)
	}
}

func hashValue(rank, i int) float32 {
	x := uint64(rank)*0x9E3779B97F4A7C15 ^ uint64(i)*0xBF58476D1CE4E5B9
	x ^= x >> 31
	x *= 0x94D049BB133111EB
	x ^= x >> 29
	return float32(x>>40)/float32(1<<23) - 1
}

// maxError compares the all-reduced sum in got (elements [lo, hi)) with the
// reference computed in float64 from every rank's input.
func maxError(got []float32, lo, hi, world int, data string) float64 {
	worst := 0.0
	for i := lo; i < hi; i++ {
		var ref float64
		if data == "random" {
			for r := range world {
				ref += float64(hashValue(r, i))
			}
		} else {
			ref = float64(world*(world+1)/2) * float64(i%13+1)
		}
		d := math.Abs(float64(got[i])-ref) / math.Max(1, math.Abs(ref))
		if d > worst || d != d {
			worst = d
		}
	}
	return worst
}
