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
// conv layers. The language models follow their references: the
// transformer nanoGPT's (weights and embeddings N(0, 0.02²), the residual
// projections N(0, (0.02/√(2·Layers))²), LayerNorm gains 1), lstm and gru
// PyTorch's defaults (embedding N(0, 1), everything else U(±1/√H)).
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
	a, err := archOf(spec.Kind)
	if err != nil {
		return err
	}
	for _, t := range layout {
		a.init(spec, layout, t, params[t.Offset:t.Offset+t.Size()], newSplitMix(seed, t.Name))
	}
	return nil
}

// initFF initializes a tensor of the feed-forward kinds (see InitParams).
func initFF(_ Spec, layout []Tensor, t Tensor, dst []float32, rng *splitMix) {
	if strings.HasSuffix(t.Name, ".bias") {
		clear(dst)
		return
	}
	fanIn := t.Shape[0] // fc: [in, out]
	if len(t.Shape) == 4 {
		fanIn = t.Shape[1] * t.Shape[2] * t.Shape[3] // conv: [out, in, kh, kw]
	}
	gain := 6.0 // ReLU follows: He
	if t.Name == layout[len(layout)-2].Name {
		gain = 3.0 // the output layer's weight, linear output: LeCun
	}
	fillUniform(dst, math.Sqrt(gain/float64(fanIn)), rng)
}

// fillUniform fills dst with U(-bound, bound).
func fillUniform(dst []float32, bound float64, rng *splitMix) {
	for i := range dst {
		dst[i] = float32((2*rng.float64() - 1) * bound)
	}
}

// fillNormal fills dst with N(0, std²) (Box-Muller on the stream).
func fillNormal(dst []float32, std float64, rng *splitMix) {
	for i := 0; i < len(dst); i += 2 {
		u1, u2 := 1-rng.float64(), rng.float64() // u1 in (0, 1]
		r := math.Sqrt(-2 * math.Log(u1))
		dst[i] = float32(std * r * math.Cos(2*math.Pi*u2))
		if i+1 < len(dst) {
			dst[i+1] = float32(std * r * math.Sin(2*math.Pi*u2))
		}
	}
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
