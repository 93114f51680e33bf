package quant

import (
	"fmt"
	"math"
	"sync"

	"github.com/ringtrain/ringtrain/model"
)

// Model is an int8-quantized classifier. Its methods are safe for
// concurrent use (each Forward has its own scratch buffers, reused
// through a pool).
type Model struct {
	spec    model.Spec
	steps   []*step
	samples int       // calibration samples
	runners sync.Pool // of *runner: scratch buffers of a finished pass
}

// Spec is the model's spec.
func (m *Model) Spec() model.Spec { return m.spec }

// CalibrationSamples is the number of training inputs the activation
// scales were calibrated on.
func (m *Model) CalibrationSamples() int { return m.samples }

// ActivationScales maps each quantized layer (fc0, conv1, layers.3) to its
// input's scale: int8 value q stands for q*scale.
func (m *Model) ActivationScales() map[string]float32 {
	out := map[string]float32{}
	for _, s := range m.steps {
		if s.quantized() {
			out[s.name] = s.aScale
		}
	}
	return out
}

// Forward returns the logits (n*Classes) of the n samples of x (n*InputSize
// values, model inputs: raw inputs times input_scale) by the int8 path.
func (m *Model) Forward(x []float32) ([]float32, error) {
	return m.forward(x, true, nil)
}

// forward runs every sample of x through the steps, by the int8 path or
// in float32; record, if not nil, receives each quantized step's input
// (the float32 pass's: the int8 pass records nothing).
func (m *Model) forward(x []float32, int8Path bool, record func(step int, in []float32)) ([]float32, error) {
	in, classes := m.spec.InputSize(), m.spec.Classes
	if len(x)%in != 0 {
		return nil, fmt.Errorf("quant: %d input values are not a whole number of samples of %d", len(x), in)
	}
	n := len(x) / in
	out := make([]float32, n*classes)
	r, _ := m.runners.Get().(*runner)
	if r == nil {
		r = newRunner(m.steps)
	}
	defer m.runners.Put(r)
	if int8Path {
		for i0 := 0; i0 < n; i0 += batchSamples {
			k := min(batchSamples, n-i0)
			logits, err := r.int8Samples(m.steps, x[i0*in:(i0+k)*in], k)
			if err != nil {
				return nil, err
			}
			copy(out[i0*classes:], logits)
		}
		return out, nil
	}
	for i := range n {
		logits := r.sample(m.steps, x[i*in:(i+1)*in], record)
		copy(out[i*classes:], logits)
	}
	return out, nil
}

// batchSamples is how many samples the int8 pass takes through each step
// together (the rows of a linear step's matrix product).
const batchSamples = 64

// runner holds one forward pass's scratch buffers (grown on demand).
type runner struct {
	outs  [][]float32 // each step's output
	cols  []float32   // float im2col
	qx    []int8      // a quantized step's input
	qcols []int8      // int8 im2col
	simd  simdBuf
	// portable selects the packed-pairs Go loop for the int8 steps instead
	// of gemm (newRunner: where the CPU lacks AVX2); kernel is gemm's.
	portable bool
	kernel   tileKernel
}

func newRunner(steps []*step) *runner {
	return &runner{outs: make([][]float32, len(steps)), portable: !haveAVX2, kernel: simdKernel()}
}

// int8Samples runs the n samples of x through steps by the int8 path and
// returns the last step's outputs (the runner's buffer).
func (r *runner) int8Samples(steps []*step, x []float32, n int) ([]float32, error) {
	cur := x
	for i := 0; i < len(steps); i++ {
		s := steps[i]
		in := size(s.in)
		if s.op == opConv && !r.portable {
			post, skip := fusePost(steps[i+1:])
			i += skip
			o := size(steps[i].out)
			r.outs[i] = growF32(r.outs[i], n*o)
			out := r.outs[i][:n*o]
			for j := range n {
				if err := r.convSIMD(s, post, cur[j*in:(j+1)*in], out[j*o:(j+1)*o]); err != nil {
					return nil, err
				}
			}
			cur = out
			continue
		}
		o := size(s.out)
		r.outs[i] = growF32(r.outs[i], n*o)
		out := r.outs[i][:n*o]
		switch s.op {
		case opLinear, opConv:
			if err := r.int8Batch(s, cur, out, n); err != nil {
				return nil, err
			}
		case opMaxPool:
			for j := range n {
				maxPool(out[j*o:(j+1)*o], cur[j*in:(j+1)*in], s.in[0], s.in[1], s.in[2], s.k, s.stride, s.out[1], s.out[2])
			}
		default:
			copy(out, cur)
			activate(s.op, out)
		}
		cur = out
	}
	return cur, nil
}

// sample runs one sample x through steps in float32 and returns the last
// step's output (the runner's buffer).
func (r *runner) sample(steps []*step, x []float32, record func(int, []float32)) []float32 {
	cur := x
	for i, s := range steps {
		r.outs[i] = growF32(r.outs[i], size(s.out))
		out := r.outs[i][:size(s.out)]
		switch s.op {
		case opLinear, opConv:
			if record != nil {
				record(i, cur)
			}
			r.floatStep(s, cur, out)
		case opMaxPool:
			maxPool(out, cur, s.in[0], s.in[1], s.in[2], s.k, s.stride, s.out[1], s.out[2])
		default:
			copy(out, cur)
			activate(s.op, out)
		}
		cur = out
	}
	return cur
}

// floatStep computes a linear or conv2d step in float32.
func (r *runner) floatStep(s *step, x, out []float32) {
	rows, p := x, 1
	if s.op == opConv {
		p = size(s.out) / s.channels()
		r.cols = growF32(r.cols, p*s.fanIn)
		rows = r.cols[:p*s.fanIn]
		im2col(rows, x, s.in[0], s.in[1], s.in[2], s.k, s.pad, s.stride, s.out[1], s.out[2])
	}
	for o := range s.channels() {
		w := s.w[o*s.fanIn : (o+1)*s.fanIn]
		var b float32
		if s.b != nil {
			b = s.b[o]
		}
		for j := range p {
			out[o*p+j] = dotF32(w, rows[j*s.fanIn:]) + b
		}
	}
}

// int8Step computes a linear or conv2d step for one sample by int8
// products: the input quantized with the step's activation scale, int32
// sums, scaled back by scale_w[o]*scale_a, plus the bias.
func (r *runner) int8Step(s *step, x, out []float32) error { return r.int8Batch(s, x, out, 1) }

// int8Batch is int8Step for the n samples of x: by gemm (the assembly
// kernel), or by the packed-pairs Go loop where r.portable. Both compute
// the same int32 sums, so the same outputs.
func (r *runner) int8Batch(s *step, x, out []float32, n int) error {
	in, o := size(s.in), size(s.out)
	switch {
	case r.portable:
		for i := range n {
			r.int8Packed(s, x[i*in:(i+1)*in], out[i*o:(i+1)*o])
		}
	case s.op == opLinear:
		return r.linearSIMD(s, x, out, n)
	default:
		for i := range n {
			if err := r.convSIMD(s, postConv{}, x[i*in:(i+1)*in], out[i*o:(i+1)*o]); err != nil {
				return err
			}
		}
	}
	return nil
}

// int8Packed is int8Step by the packed-pairs Go loop (dot2Packed), four
// channels per pass over an input row.
func (r *runner) int8Packed(s *step, x, out []float32) {
	r.qx = growI8(r.qx, len(x))
	qx := r.qx[:len(x)]
	quantizeInto(qx, x, s.aScale)
	rows, p := qx, 1
	if s.op == opConv {
		p = size(s.out) / s.channels()
		r.qcols = growI8(r.qcols, p*s.fanIn)
		rows = r.qcols[:p*s.fanIn]
		im2col(rows, qx, s.in[0], s.in[1], s.in[2], s.k, s.pad, s.stride, s.out[1], s.out[2])
	}
	f, c := s.fanIn, s.channels()
	packed := s.pairs()
	o := 0
	for ; o+4 <= c; o += 4 { // four channels (two packed pairs) per pass over an input row
		w := packed[o/2*f : (o/2+2)*f]
		for j := range p {
			a0, a1, a2, a3 := dot2Packed(w[:f], w[f:], rows[j*f:(j+1)*f])
			out[o*p+j] = s.dequant(o, a0)
			out[(o+1)*p+j] = s.dequant(o+1, a1)
			out[(o+2)*p+j] = s.dequant(o+2, a2)
			out[(o+3)*p+j] = s.dequant(o+3, a3)
		}
	}
	for ; o < c; o++ {
		w := s.qw[o*f : (o+1)*f]
		for j := range p {
			out[o*p+j] = s.dequant(o, dotI8(w, rows[j*f:]))
		}
	}
}

// dequant is channel o's output for the int32 sum acc: acc times
// scale_w[o]*scale_a, plus the bias.
func (s *step) dequant(o int, acc int32) float32 {
	v := float32(float32(acc) * (s.wScale[o] * s.aScale)) // rounded: never fused with the add
	if s.b != nil {
		v += s.b[o]
	}
	return v
}

// size is the product of shape.
func size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func growI8(b []int8, n int) []int8 {
	if len(b) < n {
		return make([]int8, n)
	}
	return b
}

func growF32(b []float32, n int) []float32 {
	if len(b) < n {
		return make([]float32, n)
	}
	return b
}

// quantizeWeights sets s's int8 rows and per-channel scales: scale =
// max|w|/127 over the channel's row (1 for an all-zero row).
func quantizeWeights(s *step) {
	s.qw = make([]int8, len(s.w))
	s.wScale = make([]float32, s.channels())
	for o := range s.channels() {
		row := s.w[o*s.fanIn : (o+1)*s.fanIn]
		var mx float64
		for _, v := range row {
			mx = math.Max(mx, math.Abs(float64(v)))
		}
		scale := float32(1)
		if mx > 0 {
			scale = float32(mx / 127)
		}
		s.wScale[o] = scale
		quantizeInto(s.qw[o*s.fanIn:(o+1)*s.fanIn], row, scale)
	}
	s.prepare()
}
