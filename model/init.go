package model

import (
	"fmt"
	"hash/fnv"
	"math"
	"strings"
)

// InitParams fills params (len = the total of Layout(spec)) deterministically
// from seed: weights of layers followed by a ReLU get He/Kaiming-uniform
// values, U(-sqrt(6/fan_in), +sqrt(6/fan_in)); the output layer (no ReLU)
// gets LeCun-uniform values, U(-sqrt(3/fan_in), +sqrt(3/fan_in)); biases
// are zero. fan_in is in_features for fc layers and in_channels*5*5 for
// conv layers.
//
// Each tensor draws from its own splitmix64 stream seeded by seed and the
// tensor's name, so the values are the same bits on every platform and Go
// version, and a tensor's values do not depend on the tensors before it.
func InitParams(spec Spec, params []float32, seed uint64) error {
	layout, total, err := Layout(spec)
	if err != nil {
		return err
	}
	if len(params) != total {
		return fmt.Errorf("%w: params has %d values, spec needs %d", ErrInput, len(params), total)
	}
	last := layout[len(layout)-2].Name // the output layer's weight
	for _, t := range layout {
		dst := params[t.Offset : t.Offset+t.Size()]
		if strings.HasSuffix(t.Name, ".bias") {
			clear(dst)
			continue
		}
		fanIn := t.Shape[0] // fc: [in, out]
		if len(t.Shape) == 4 {
			fanIn = t.Shape[1] * t.Shape[2] * t.Shape[3] // conv: [out, in, kh, kw]
		}
		gain := 6.0 // ReLU follows: He
		if t.Name == last {
			gain = 3.0 // linear output: LeCun
		}
		bound := math.Sqrt(gain / float64(fanIn))
		rng := newSplitMix(seed, t.Name)
		for i := range dst {
			dst[i] = float32((2*rng.float64() - 1) * bound)
		}
	}
	return nil
}

// splitMix is the splitmix64 generator (Steele, Lea, Flood 2014): tiny,
// fully specified, so parameter initialization never changes with a Go
// release.
type splitMix struct{ state uint64 }

// newSplitMix seeds a stream from seed and a stream name.
func newSplitMix(seed uint64, name string) *splitMix {
	h := fnv.New64a()
	h.Write([]byte(name)) // never fails
	return &splitMix{state: seed ^ h.Sum64()}
}

func (r *splitMix) next() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// float64 returns a uniform value in [0, 1) with 53 random bits.
func (r *splitMix) float64() float64 {
	return float64(r.next()>>11) / (1 << 53)
}
