package quant

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/ringtrain/ringtrain/model"
)

// ErrUnsupported is returned for a model quant does not quantize.
var ErrUnsupported = errors.New("quant: unsupported model")

// Step kinds of a plan.
const (
	opLinear  = "linear"
	opConv    = "conv2d"
	opMaxPool = "maxpool"
	opReLU    = "relu"
	opTanh    = "tanh"
	opGELU    = "gelu"
)

// maxFanIn bounds a quantized layer's fan-in so that its int32 sums of
// products of a weight in [-127, 127] and an input in [-128, 127] cannot
// overflow.
const maxFanIn = (1<<31 - 1) / (128 * 127)

// step is one layer of the forward pass. Linear and conv2d steps (the
// quantized ones) hold their float weights as [out][fanIn] rows (a linear
// layer's [in, out] matrix transposed; a conv kernel's [C, k, k] flattened)
// and, once quantized, their int8 rows and scales.
type step struct {
	op   string
	name string // the tensor prefix (fc0, conv1, layers.3) of linear and conv2d
	// in is the per-sample input shape: [n] or [C, H, W].
	in, out []int
	k, pad  int // conv2d's kernel and padding; maxpool's window in k
	stride  int // conv2d's and maxpool's
	w, b    []float32
	hasBias bool
	fanIn   int
	// quantized
	qw []int8
	// the int8 pass's layouts of qw, built once (prepare, or on first use):
	// packed, its rows in pairs (packPairs) for the portable Go loop; gw,
	// for gemm
	packOnce, gemmOnce sync.Once
	packed             []int64
	gw                 *gemmWeights
	wScale             []float32 // per output channel
	aScale             float32   // per-tensor input scale
}

// prepare builds the layout of s's int8 weights that this CPU's int8
// pass reads (so that Forward only reads it).
func (s *step) prepare() {
	if haveAVX2 {
		s.gemm()
	} else {
		s.pairs()
	}
}

// pairs returns s's int8 rows packed in pairs (packPairs), computing them
// on first use unless already set.
func (s *step) pairs() []int64 {
	s.packOnce.Do(func() {
		if s.packed == nil {
			s.packed = packPairs(s.qw, s.channels(), s.fanIn)
		}
	})
	return s.packed
}

// quantized reports whether s is a linear or conv2d step.
func (s *step) quantized() bool { return s.op == opLinear || s.op == opConv }

// channels is the number of output channels of a quantized step.
func (s *step) channels() int { return s.out[0] }

// planOf returns the steps of spec's forward pass (weights not bound).
func planOf(spec model.Spec) ([]*step, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("quant: %w", err)
	}
	var steps []*step
	switch spec.Kind {
	case model.KindMLP, model.KindCNN:
		steps = planFF(spec)
	case model.KindLayers:
		var err error
		if steps, err = planLayers(spec); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: a %s model: int8 quantization covers the mlp, cnn and layers kinds (classifiers)", ErrUnsupported, spec.Kind)
	}
	for _, s := range steps {
		if s.quantized() && s.fanIn > maxFanIn {
			return nil, fmt.Errorf("%w: %s has fan-in %d, more than the %d an int32 sum of int8 products holds", ErrUnsupported, s.name, s.fanIn, maxFanIn)
		}
	}
	return steps, nil
}

// planFF is the plan of an mlp or cnn (model.Layout's comment): conv0 (6
// filters 5x5, pad 2), relu, maxpool 2x2; conv1 (16, no pad), relu,
// maxpool 2x2; then the fc layers, relu between them.
func planFF(spec model.Spec) []*step {
	var steps []*step
	shape := slices.Clone(spec.Input)
	add := func(s *step) {
		s.in = shape
		s.out = outShape(s)
		shape = s.out
		steps = append(steps, s)
	}
	if spec.Kind == model.KindCNN {
		for i, c := range []struct{ out, pad int }{{6, 2}, {16, 0}} {
			add(&step{op: opConv, name: fmt.Sprintf("conv%d", i), hasBias: true, k: 5, pad: c.pad, stride: 1, out: []int{c.out}})
			add(&step{op: opReLU})
			add(&step{op: opMaxPool, k: 2, stride: 2})
		}
	}
	in := 1
	for _, d := range shape {
		in *= d
	}
	shape = []int{in}
	hidden := spec.Hidden
	if spec.Kind == model.KindCNN && len(hidden) == 0 {
		hidden = []int{120, 84}
	}
	sizes := append(slices.Clone(hidden), spec.Classes)
	for i, o := range sizes {
		add(&step{op: opLinear, name: fmt.Sprintf("fc%d", i), hasBias: true, out: []int{o}})
		if i+1 < len(sizes) {
			add(&step{op: opReLU})
		}
	}
	return steps
}

// planLayers is the plan of a layers network.
func planLayers(spec model.Spec) ([]*step, error) {
	var steps []*step
	shape := slices.Clone(spec.Input)
	for i, l := range spec.Net {
		s := &step{in: shape}
		switch l.Type {
		case model.LayerLinear:
			s.op, s.out = opLinear, []int{l.Out}
		case model.LayerConv2D:
			s.op, s.out, s.k, s.pad, s.stride = opConv, []int{l.Out}, l.Kernel, l.Pad, max(l.Stride, 1)
		case model.LayerMaxPool:
			s.op, s.k, s.stride = opMaxPool, l.Size, l.Stride
			if s.stride == 0 {
				s.stride = l.Size
			}
		case model.LayerReLU, model.LayerTanh, model.LayerGELU:
			s.op = l.Type
		case model.LayerDropout:
			continue // inference: the identity
		case model.LayerFlatten:
			n := 1
			for _, d := range shape {
				n *= d
			}
			shape = []int{n}
			continue
		default:
			return nil, fmt.Errorf("%w: layers[%d] is a %s layer: int8 quantization covers linear, conv2d, maxpool, relu, tanh, gelu, dropout and flatten", ErrUnsupported, i, l.Type)
		}
		if s.quantized() {
			s.name, s.hasBias = fmt.Sprintf("layers.%d", i), !l.NoBias
		}
		s.out = outShape(s)
		shape = s.out
		steps = append(steps, s)
	}
	return steps, nil
}

// outShape computes s's output shape from s.in (and, for linear and
// conv2d, the output size already in s.out[0]); it sets fanIn.
func outShape(s *step) []int {
	switch s.op {
	case opLinear:
		s.fanIn = s.in[0]
		return []int{s.out[0]}
	case opConv:
		s.fanIn = s.in[0] * s.k * s.k
		return []int{s.out[0], (s.in[1]+2*s.pad-s.k)/s.stride + 1, (s.in[2]+2*s.pad-s.k)/s.stride + 1}
	case opMaxPool:
		return []int{s.in[0], (s.in[1]-s.k)/s.stride + 1, (s.in[2]-s.k)/s.stride + 1}
	}
	return slices.Clone(s.in)
}

// bind sets the float weights of the quantized steps from params, laid
// out as model.Layout(spec) says.
func bind(steps []*step, spec model.Spec, params []float32) error {
	layout, total, err := model.Layout(spec)
	if err != nil {
		return fmt.Errorf("quant: %w", err)
	}
	if len(params) != total {
		return fmt.Errorf("quant: %d parameters, the %s model has %d", len(params), spec.Kind, total)
	}
	byName := make(map[string]model.Tensor, len(layout))
	for _, t := range layout {
		byName[t.Name] = t
	}
	for _, s := range steps {
		if !s.quantized() {
			continue
		}
		wt, ok := byName[s.name+".weight"]
		if !ok || wt.Size() != s.channels()*s.fanIn {
			return fmt.Errorf("quant: the layout has no %s.weight of %d values", s.name, s.channels()*s.fanIn)
		}
		w := params[wt.Offset : wt.Offset+wt.Size()]
		if s.op == opLinear {
			s.w = transpose(w, s.fanIn, s.channels())
		} else {
			s.w = slices.Clone(w)
		}
		if s.hasBias {
			bt, ok := byName[s.name+".bias"]
			if !ok || bt.Size() != s.channels() {
				return fmt.Errorf("quant: the layout has no %s.bias of %d values", s.name, s.channels())
			}
			s.b = slices.Clone(params[bt.Offset : bt.Offset+bt.Size()])
		}
	}
	return nil
}

// transpose returns the [cols, rows] transpose of a row-major [rows, cols]
// matrix.
func transpose[T int8 | float32](a []T, rows, cols int) []T {
	out := make([]T, len(a))
	for r := range rows {
		for c := range cols {
			out[c*rows+r] = a[r*cols+c]
		}
	}
	return out
}
