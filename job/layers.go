package job

import (
	"fmt"
	"slices"
)

// Layer is one layer of model.layers, the network of model.kind layers,
// applied in order to the data's sample shape (e.g. [1, 28, 28] for
// MNIST):
//
//	linear    {out, bias}                      flat input → [out]
//	conv2d    {out, kernel, pad, stride, bias} [C H W] → [out H' W']
//	maxpool   {size, stride}                   [C H W] → [C H' W']
//	relu, gelu, tanh, layernorm (over the last dimension), flatten
//	dropout   {p}
//	embedding {vocab, out}                     [T] token ids → [T out] (the first layer only)
//
// bias defaults to true, pad to 0, conv2d's stride to 1, maxpool's to
// size. The last layer must output the number of classes. The shapes are
// checked against the data when the workers build the model.
type Layer struct {
	// Type is linear, conv2d, maxpool, relu, gelu, tanh, dropout,
	// layernorm, flatten or embedding.
	Type string `yaml:"type"`
	// Out is linear's output size, conv2d's output channels.
	Out int `yaml:"out,omitempty"`
	// Kernel is conv2d's kernel size.
	Kernel int `yaml:"kernel,omitempty"`
	// Pad is conv2d's zero padding on every side. Default 0.
	Pad int `yaml:"pad,omitempty"`
	// Stride is conv2d's (default 1) or maxpool's (default size) stride.
	Stride int `yaml:"stride,omitempty"`
	// Size is maxpool's window.
	Size int `yaml:"size,omitempty"`
	// Bias gives linear and conv2d a bias. Default true.
	Bias *bool `yaml:"bias,omitempty"`
	// P is dropout's probability, in [0, 1).
	P float64 `yaml:"p,omitempty"`
	// Vocab is embedding's number of token ids: the samples' values must
	// be integers in [0, vocab).
	Vocab int `yaml:"vocab,omitempty"`
}

// HasBias reports whether a linear or conv2d layer has a bias (the
// default).
func (l Layer) HasBias() bool { return l.Bias == nil || *l.Bias }

// layerKeys are the keys each layer type takes besides type.
var layerKeys = map[string][]string{
	"linear":    {"out", "bias"},
	"conv2d":    {"out", "kernel", "pad", "stride", "bias"},
	"maxpool":   {"size", "stride"},
	"relu":      nil,
	"gelu":      nil,
	"tanh":      nil,
	"dropout":   {"p"},
	"layernorm": nil,
	"flatten":   nil,
	"embedding": {"vocab", "out"},
}

// maxNetLayers bounds model.layers.
const maxNetLayers = 256

// validateLayers checks model.layers: present exactly for model.kind
// layers, each layer's type and keys in range. The shapes need the data
// and are checked by the workers' model.
func (s Spec) validateLayers(bad func(key, format string, args ...any)) {
	m := s.Model
	if m.Kind != "layers" {
		if len(m.Layers) > 0 {
			bad("model.layers", "is the network of model.kind layers, not of %s", m.Kind)
		}
		return
	}
	if len(m.Hidden) > 0 {
		bad("model.hidden", "does not apply to model.kind layers (its network is model.layers), got %v", m.Hidden)
	}
	if len(m.Layers) == 0 || len(m.Layers) > maxNetLayers {
		bad("model.layers", "model.kind layers needs 1..%d layers, got %d", maxNetLayers, len(m.Layers))
		return
	}
	types := make([]string, 0, len(layerKeys))
	for t := range layerKeys {
		types = append(types, t)
	}
	slices.Sort(types)
	for i, l := range m.Layers {
		key := fmt.Sprintf("model.layers[%d]", i)
		allowed, ok := layerKeys[l.Type]
		if !ok {
			bad(key+".type", "%q is not one of %q", l.Type, types)
			continue
		}
		for _, f := range l.setKeys() {
			if !slices.Contains(allowed, f) {
				bad(key+"."+f, "does not apply to a %s layer (it takes %q)", l.Type, allowed)
			}
		}
		inRange := func(name string, v, lo int) {
			if v < lo || v > 1<<16 {
				bad(key+"."+name, "must be in %d..65536 for a %s layer, got %d", lo, l.Type, v)
			}
		}
		switch l.Type {
		case "linear":
			inRange("out", l.Out, 1)
		case "conv2d":
			inRange("out", l.Out, 1)
			inRange("kernel", l.Kernel, 1)
			inRange("pad", l.Pad, 0)
			inRange("stride", l.Stride, 0)
		case "maxpool":
			inRange("size", l.Size, 1)
			inRange("stride", l.Stride, 0)
		case "embedding":
			inRange("vocab", l.Vocab, 1)
			inRange("out", l.Out, 1)
		case "dropout":
			if !(l.P >= 0 && l.P < 1) {
				bad(key+".p", "must be in [0, 1), got %g", l.P)
			}
		}
	}
}

// setKeys names the keys of l that are set (not zero).
func (l Layer) setKeys() []string {
	var out []string
	for _, k := range []struct {
		name string
		set  bool
	}{{"out", l.Out != 0}, {"kernel", l.Kernel != 0}, {"pad", l.Pad != 0}, {"stride", l.Stride != 0},
		{"size", l.Size != 0}, {"bias", l.Bias != nil}, {"p", l.P != 0}, {"vocab", l.Vocab != 0}} {
		if k.set {
			out = append(out, k.name)
		}
	}
	return out
}
