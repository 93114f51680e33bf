package model

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// KindLayers is the kind of a network defined as a list of layers
// (Spec.Net).
const KindLayers = "layers"

// Layer types of Spec.Net.
const (
	LayerLinear    = "linear"
	LayerConv2D    = "conv2d"
	LayerMaxPool   = "maxpool"
	LayerReLU      = "relu"
	LayerGELU      = "gelu"
	LayerTanh      = "tanh"
	LayerDropout   = "dropout"
	LayerLayerNorm = "layernorm"
	LayerFlatten   = "flatten"
	LayerEmbedding = "embedding"
)

// Layer is one layer of a network of kind "layers". Each layer reads the
// previous one's per-sample output (the first one reads Spec.Input) and
// the shapes are checked by Spec.Validate:
//
//	linear    [in] → [Out]: y = x·W + b, W (in, Out), b (Out) unless NoBias
//	conv2d    [C H W] → [Out H' W']: Kernel×Kernel, zero padding Pad,
//	          Stride (0: 1), W (Out, C, Kernel, Kernel), b (Out) unless NoBias
//	maxpool   [C H W] → [C H' W']: Size×Size windows, Stride (0: Size)
//	relu, gelu (exact, erf), tanh: elementwise
//	dropout   elementwise, probability P in [0, 1), training only
//	layernorm over the last dimension, with a gain (1) and a bias (0)
//	flatten   any → [size]
//	embedding [T] token ids → [T Out]: rows of W (Vocab, Out); the first
//	          layer only: the samples' values must be integers in [0, Vocab)
//
// H' = (H + 2·Pad - Kernel)/Stride + 1 (floor). The last layer's output
// must be [Classes]. Fields a type does not use must be zero.
type Layer struct {
	// Type is one of the Layer* constants.
	Type string `json:"type"`
	// Out is the output size of linear, the output channels of conv2d.
	Out int `json:"out,omitempty"`
	// Kernel is conv2d's kernel size.
	Kernel int `json:"kernel,omitempty"`
	// Pad is conv2d's zero padding on every side.
	Pad int `json:"pad,omitempty"`
	// Stride is conv2d's (0 means 1) or maxpool's (0 means Size) stride.
	Stride int `json:"stride,omitempty"`
	// Size is maxpool's window size.
	Size int `json:"size,omitempty"`
	// NoBias drops the bias of linear and conv2d.
	NoBias bool `json:"no_bias,omitempty"`
	// P is dropout's probability.
	P float64 `json:"p,omitempty"`
	// Vocab is embedding's number of token ids.
	Vocab int `json:"vocab,omitempty"`
}

// layerFields are the fields each type may set (besides Type).
var layerFields = map[string][]string{
	LayerLinear:    {"out", "no_bias"},
	LayerConv2D:    {"out", "kernel", "pad", "stride", "no_bias"},
	LayerMaxPool:   {"size", "stride"},
	LayerReLU:      nil,
	LayerGELU:      nil,
	LayerTanh:      nil,
	LayerDropout:   {"p"},
	LayerLayerNorm: nil,
	LayerFlatten:   nil,
	LayerEmbedding: {"vocab", "out"},
}

// setFields names the fields of l that are not zero.
func (l Layer) setFields() []string {
	var f []string
	for _, x := range []struct {
		name string
		set  bool
	}{{"out", l.Out != 0}, {"kernel", l.Kernel != 0}, {"pad", l.Pad != 0}, {"stride", l.Stride != 0},
		{"size", l.Size != 0}, {"no_bias", l.NoBias}, {"p", l.P != 0}, {"vocab", l.Vocab != 0}} {
		if x.set {
			f = append(f, x.name)
		}
	}
	return f
}

// hasParams reports whether the layer has parameters.
func (l Layer) hasParams() bool {
	return l.Type == LayerLinear || l.Type == LayerConv2D || l.Type == LayerLayerNorm || l.Type == LayerEmbedding
}

// stride is the effective stride of conv2d and maxpool.
func (l Layer) stride() int {
	switch {
	case l.Stride != 0:
		return l.Stride
	case l.Type == LayerMaxPool:
		return l.Size
	}
	return 1
}

// layersArch is the family of networks defined as a list of layers.
func layersArch() arch {
	return arch{validate: validateLayers, layout: layoutLayers, init: initLayers, build: buildLayers}
}

// validateLayers checks the fields of kind layers and the shapes through
// the network.
func validateLayers(s Spec) error {
	if len(s.Hidden) != 0 || s.Embed != 0 || s.Layers != 0 || s.Heads != 0 || s.Bias || s.Dropout != 0 {
		return fmt.Errorf("%w: Hidden, Embed, Layers, Heads, Bias and Dropout are not for kind %s: its network is Net", ErrSpec, KindLayers)
	}
	_, err := netShapes(s)
	return err
}

// netShapes returns the per-sample output shape of every layer of s.Net,
// checking each layer's fields and input shape; errors wrap ErrSpec and
// name the layer's index and type.
func netShapes(s Spec) ([][]int, error) {
	if len(s.Net) == 0 {
		return nil, fmt.Errorf("%w: Net is empty, kind %s wants a list of layers", ErrSpec, KindLayers)
	}
	if len(s.Net) > maxLayers {
		return nil, fmt.Errorf("%w: Net has %d layers, want at most %d", ErrSpec, len(s.Net), maxLayers)
	}
	shapes := make([][]int, len(s.Net))
	in := slices.Clone(s.Input)
	params := false
	for i, l := range s.Net {
		out, err := l.outShape(in)
		if err != nil {
			return nil, fmt.Errorf("%w: layers[%d] (%s): %w", ErrSpec, i, l.Type, err)
		}
		if !withinMaxDim(out) {
			return nil, fmt.Errorf("%w: layers[%d] (%s): output shape %v has more than %d values per sample", ErrSpec, i, l.Type, out, MaxDim)
		}
		if l.Type == LayerEmbedding && i > 0 {
			return nil, fmt.Errorf("%w: layers[%d] (%s): an embedding reads token ids: it must be the first layer", ErrSpec, i, l.Type)
		}
		params = params || l.hasParams()
		shapes[i], in = out, out
	}
	last := len(s.Net) - 1
	switch {
	case len(in) != 1:
		return nil, fmt.Errorf("%w: layers[%d] (%s): output shape %v is not flat: the last layer must output [%d] (the classes)", ErrSpec, last, s.Net[last].Type, in, s.Classes)
	case in[0] != s.Classes:
		return nil, fmt.Errorf("%w: layers[%d] (%s): output %d but the data has %d classes", ErrSpec, last, s.Net[last].Type, in[0], s.Classes)
	case !params:
		return nil, fmt.Errorf("%w: Net has no layer with parameters (linear, conv2d, layernorm, embedding)", ErrSpec)
	}
	return shapes, nil
}

// withinMaxDim reports whether the product of s is at most MaxDim (every
// entry positive), without overflowing.
func withinMaxDim(s []int) bool {
	n := 1
	for _, d := range s {
		if d < 1 || d > MaxDim/n {
			return false
		}
		n *= d
	}
	return true
}

func sizeOfInts(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// notCHW is the error of a layer whose input is not [C H W].
func notCHW(in []int) error { return fmt.Errorf("input shape %v is not [C H W]", in) }

// outShape checks l's fields and input shape in and returns its output
// shape. The error does not name the layer (netShapes does).
func (l Layer) outShape(in []int) ([]int, error) {
	allowed, ok := layerFields[l.Type]
	if !ok {
		types := make([]string, 0, len(layerFields))
		for t := range layerFields {
			types = append(types, t)
		}
		slices.Sort(types)
		return nil, fmt.Errorf("unknown type, want one of %s", strings.Join(types, ", "))
	}
	for _, f := range l.setFields() {
		if !slices.Contains(allowed, f) {
			return nil, fmt.Errorf("%s is not a field of %s (it has %v)", f, l.Type, allowed)
		}
	}
	positive := func(name string, v int) error {
		if v < 1 || v > MaxDim {
			return fmt.Errorf("%s = %d, want 1..%d", name, v, MaxDim)
		}
		return nil
	}
	switch l.Type {
	case LayerLinear:
		if err := positive("out", l.Out); err != nil {
			return nil, err
		}
		if len(in) != 1 {
			return nil, fmt.Errorf("input shape %v is not flat: add a flatten layer before it", in)
		}
		return []int{l.Out}, nil
	case LayerConv2D:
		if err := positive("out", l.Out); err != nil {
			return nil, err
		}
		if err := positive("kernel", l.Kernel); err != nil {
			return nil, err
		}
		if l.Pad < 0 || l.Pad > MaxDim {
			return nil, fmt.Errorf("pad = %d, want 0..%d", l.Pad, MaxDim)
		}
		if l.Stride < 0 || l.Stride > MaxDim {
			return nil, fmt.Errorf("stride = %d, want 1..%d (0: 1)", l.Stride, MaxDim)
		}
		if len(in) != 3 {
			return nil, notCHW(in)
		}
		h, w := in[1]+2*l.Pad, in[2]+2*l.Pad
		if h < l.Kernel || w < l.Kernel {
			return nil, fmt.Errorf("input shape %v padded by %d is smaller than the kernel %d", in, l.Pad, l.Kernel)
		}
		s := l.stride()
		out := []int{l.Out, (h-l.Kernel)/s + 1, (w-l.Kernel)/s + 1}
		if !withinMaxDim([]int{in[0], l.Kernel, l.Kernel, out[1], out[2]}) {
			return nil, fmt.Errorf("input shape %v, kernel %d: the unfolded input (%d channels × %d×%d taps × %d×%d positions) has more than %d values per sample",
				in, l.Kernel, in[0], l.Kernel, l.Kernel, out[1], out[2], MaxDim)
		}
		return out, nil
	case LayerMaxPool:
		if err := positive("size", l.Size); err != nil {
			return nil, err
		}
		if l.Stride < 0 || l.Stride > MaxDim {
			return nil, fmt.Errorf("stride = %d, want 1..%d (0: size)", l.Stride, MaxDim)
		}
		if len(in) != 3 {
			return nil, notCHW(in)
		}
		if in[1] < l.Size || in[2] < l.Size {
			return nil, fmt.Errorf("input shape %v is smaller than the window %d", in, l.Size)
		}
		s := l.stride()
		return []int{in[0], (in[1]-l.Size)/s + 1, (in[2]-l.Size)/s + 1}, nil
	case LayerDropout:
		if !(l.P >= 0 && l.P < 1) {
			return nil, fmt.Errorf("p = %v, want 0 <= p < 1", l.P)
		}
	case LayerFlatten:
		return []int{sizeOfInts(in)}, nil
	case LayerEmbedding:
		if err := positive("vocab", l.Vocab); err != nil {
			return nil, err
		}
		if err := positive("out", l.Out); err != nil {
			return nil, err
		}
		if len(in) != 1 {
			return nil, fmt.Errorf("input shape %v is not [T] (token ids)", in)
		}
		return []int{in[0], l.Out}, nil
	}
	return slices.Clone(in), nil // elementwise (layernorm: over the last dimension)
}

// layoutLayers adds layers.{i}.weight and .bias for every layer with
// parameters: linear (in, out), conv2d (out, in, k, k), layernorm (last
// dimension).
func layoutLayers(s Spec, add func(name string, shape ...int) error) error {
	shapes, err := netShapes(s)
	if err != nil {
		return err
	}
	in := s.Input
	for i, l := range s.Net {
		w, b := fmt.Sprintf("layers.%d.weight", i), fmt.Sprintf("layers.%d.bias", i)
		var err error
		switch l.Type {
		case LayerLinear:
			err = add(w, in[0], l.Out)
		case LayerConv2D:
			err = add(w, l.Out, in[0], l.Kernel, l.Kernel)
		case LayerLayerNorm:
			err = add(w, in[len(in)-1])
		case LayerEmbedding:
			err = add(w, l.Vocab, l.Out)
		}
		if err != nil {
			return err
		}
		switch {
		case l.Type == LayerLayerNorm:
			err = add(b, in[len(in)-1])
		case l.hasParams() && !l.NoBias && l.Type != LayerEmbedding:
			err = add(b, l.Out)
		}
		if err != nil {
			return err
		}
		in = shapes[i]
	}
	return nil
}

// initLayers initializes a tensor of kind layers: the weights of linear
// and conv2d layers He-uniform when the next layer (past dropouts) is a
// relu, LeCun-uniform otherwise; biases 0; layernorm gains 1.
func initLayers(s Spec, _ []Tensor, t Tensor, dst []float32, rng *splitMix) {
	var i int
	var part string
	if _, err := fmt.Sscanf(t.Name, "layers.%d.%s", &i, &part); err != nil || i < 0 || i >= len(s.Net) || part == "bias" {
		clear(dst)
		return
	}
	switch s.Net[i].Type {
	case LayerLayerNorm:
		for j := range dst {
			dst[j] = 1
		}
		return
	case LayerEmbedding:
		fillNormal(dst, 1, rng) // PyTorch's nn.Embedding
		return
	}
	fanIn := t.Shape[0] // linear: (in, out)
	if len(t.Shape) == 4 {
		fanIn = t.Shape[1] * t.Shape[2] * t.Shape[3] // conv2d: (out, in, k, k)
	}
	gain := 3.0 // LeCun
	for _, next := range s.Net[i+1:] {
		if next.Type == LayerDropout {
			continue
		}
		if next.Type == LayerReLU {
			gain = 6.0 // He
		}
		break
	}
	fillUniform(dst, math.Sqrt(gain/float64(fanIn)), rng)
}

// tokenInput reports whether s's samples are token ids: a sequence model,
// or a layers network that starts with an embedding.
func (s Spec) tokenInput() bool {
	return s.Sequence() || (s.Kind == KindLayers && len(s.Net) > 0 && s.Net[0].Type == LayerEmbedding)
}

// vocabSize is the number of token ids of a tokenInput spec.
func (s Spec) vocabSize() int {
	if s.Kind == KindLayers {
		return s.Net[0].Vocab
	}
	return s.Classes
}
