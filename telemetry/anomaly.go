package telemetry

import (
	"math"
	"slices"
)

// SpikeDetector flags a value far above the recent ones: more than Factor
// times the mean of the last Window values and more than Sigmas standard
// deviations above it. It is pure (no clock); the caller feeds it.
type SpikeDetector struct {
	Window int     // values remembered (default 20)
	Factor float64 // ratio to the mean (default 1.5)
	Sigmas float64 // standard deviations above the mean (default 3)
	recent []float64
}

// Observe records v and reports whether it is a spike against the values
// before it (at least 5 are needed).
func (d *SpikeDetector) Observe(v float64) (spike bool, mean float64) {
	w, f, k := d.Window, d.Factor, d.Sigmas
	if w <= 0 {
		w = 20
	}
	if f <= 0 {
		f = 1.5
	}
	if k <= 0 {
		k = 3
	}
	if n := len(d.recent); n >= 5 && !math.IsNaN(v) {
		var sum, sq float64
		for _, x := range d.recent {
			sum += x
		}
		mean = sum / float64(n)
		for _, x := range d.recent {
			sq += (x - mean) * (x - mean)
		}
		sd := math.Sqrt(sq / float64(n))
		spike = v > f*mean && v > mean+k*sd
	}
	if !math.IsNaN(v) && !math.IsInf(v, 0) {
		d.recent = append(d.recent, v)
		if len(d.recent) > w {
			d.recent = d.recent[1:]
		}
	}
	return spike, mean
}

// Stragglers returns the indices of the values more than factor times the
// median of all (at least 2 values); used on the ranks' time until their
// gradient was ready (data + compute), which the ring itself would hide.
func Stragglers(times []float64, factor float64) (slow []int, median float64) {
	if len(times) < 2 {
		return nil, 0
	}
	s := slices.Clone(times)
	slices.Sort(s)
	median = s[len(s)/2]
	if len(s)%2 == 0 {
		median = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	for i, t := range times {
		if median > 0 && t > factor*median {
			slow = append(slow, i)
		}
	}
	return slow, median
}
