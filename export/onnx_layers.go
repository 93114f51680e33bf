package export

import (
	"fmt"

	"github.com/ringtrain/ringtrain/model"
)

// tokenLayers reports whether s is a layers network that starts with an
// embedding (its samples are token ids).
func tokenLayers(s model.Spec) bool {
	return s.Kind == model.KindLayers && len(s.Net) > 0 && s.Net[0].Type == model.LayerEmbedding
}

// layersGraph adds a network of kind layers, one group of nodes per layer
// of Spec.Net (whose tensors are layers.<i>.weight and .bias):
//
//	input     Mul(input, input_scale), then Sub and Mul per input value
//	          with input_normalization (ONNX); an embedding net takes int64
//	          token ids [batch, T] instead (no scale)
//	linear    Gemm(h, weight [in, out], bias), MatMul without a bias
//	conv2d    Conv(kernel, pads Pad, strides Stride)
//	maxpool   MaxPool(Size×Size, strides Stride; floor)
//	relu      Relu; tanh: Tanh; gelu: x/2·(1 + Erf(x/√2))
//	layernorm over the last axis, decomposed (ReduceMean, Sub, Mul, Add,
//	          Sqrt, Div; eps 1e-5)
//	flatten   Flatten(axis 1)
//	embedding Gather(weight, token ids)
//	dropout   nothing (inference)
func layersGraph(g *graph, m Model, layout []model.Tensor, scale float64) error {
	byName := make(map[string]model.Tensor, len(layout))
	for _, t := range layout {
		byName[t.Name] = t
	}
	get := func(name string) string {
		t, ok := byName[name]
		if !ok {
			return ""
		}
		return g.init(t.Name, t.Shape, m.tensor(t))
	}
	h := InputName
	if !tokenLayers(m.Spec) {
		h = g.node("Mul", []string{InputName, g.init("input_scale", []int{1}, []float32{float32(scale)})})
		h = g.normalize(h, g.norm, m.Spec.Input)
	}
	for i, l := range m.Spec.Net {
		w, b := get(fmt.Sprintf("layers.%d.weight", i)), get(fmt.Sprintf("layers.%d.bias", i))
		withBias := func(ins ...string) []string {
			if b == "" {
				return ins
			}
			return append(ins, b)
		}
		stride := int64(l.Stride)
		switch l.Type {
		case model.LayerLinear:
			if b == "" {
				h = g.node("MatMul", []string{h, w})
			} else {
				h = g.node("Gemm", []string{h, w, b})
			}
		case model.LayerConv2D:
			if stride == 0 {
				stride = 1
			}
			k, pad := int64(l.Kernel), int64(l.Pad)
			h = g.node("Conv", withBias(h, w), intsAttr("kernel_shape", k, k), intsAttr("pads", pad, pad, pad, pad), intsAttr("strides", stride, stride))
		case model.LayerMaxPool:
			if stride == 0 {
				stride = int64(l.Size)
			}
			h = g.node("MaxPool", []string{h}, intsAttr("kernel_shape", int64(l.Size), int64(l.Size)), intsAttr("strides", stride, stride))
		case model.LayerReLU:
			h = g.node("Relu", []string{h})
		case model.LayerTanh:
			h = g.node("Tanh", []string{h})
		case model.LayerGELU:
			h = g.gelu(h)
		case model.LayerLayerNorm:
			h = g.layerNorm(h, w, b)
		case model.LayerFlatten:
			h = g.node("Flatten", []string{h}, intAttr("axis", 1))
		case model.LayerEmbedding:
			h = g.node("Gather", []string{w, h}, intAttr("axis", 0))
		case model.LayerDropout:
		default:
			return fmt.Errorf("export: onnx: layers[%d]: no ONNX graph for layer type %q", i, l.Type)
		}
	}
	return nil // the last node is the output (a dropout adds none)
}
