package devicetest

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
)

// rng returns a generator seeded from the case's name, so every case has
// its own reproducible inputs.
func rng(name string) *rand.Rand {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name)) // a hash never fails
	return rand.New(rand.NewPCG(h.Sum64(), 0x9E3779B97F4A7C15))
}

// normals returns n values ~ N(0, sd²).
func normals(r *rand.Rand, n int, sd float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64() * sd)
	}
	return v
}

// nans returns n NaNs (varied payloads), the contents of an output the
// kernel must overwrite without reading.
func nans(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = math.Float32frombits(0x7FC00000 | uint32(i*2654435761)&0x3FFFFF)
	}
	return v
}

// label32 stores int32 labels in a float32 buffer (their bits).
func label32(labels []int32) []float32 {
	v := make([]float32, len(labels))
	for i, l := range labels {
		v[i] = math.Float32frombits(uint32(l))
	}
	return v
}

// filled returns n copies of x.
func filled(n int, x float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = x
	}
	return v
}
