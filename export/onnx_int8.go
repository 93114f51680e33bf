package export

import (
	"fmt"
	"slices"
	"strings"

	"github.com/advancedclimatesystems/gonnx/onnx"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/model"
)

// Int8Model is an int8-quantized mlp or cnn as package quant writes it:
// the tensors of its safetensors form (NAME.weight I8 in the layout's
// shape, NAME.weight_scale F32 [out], NAME.bias F32) and each layer's
// activation scale.
type Int8Model struct {
	Spec             model.Spec
	Tensors          []checkpoint.ExportTensor
	ActivationScales map[string]float32
}

// ONNXInt8 returns m as an ONNX opset 13 graph in the QDQ form: ONNX's
// graph of ONNX (raw inputs in, logits out) where every Conv and Gemm
// reads its input through QuantizeLinear and DequantizeLinear (the
// layer's activation scale, zero point 0) and its weight as
// DequantizeLinear of the INT8 initializer NAME.weight with the
// per-channel scales NAME.weight_scale (axis 0 for a conv, 1 for an fc
// weight [in, out]). A runtime with int8 kernels fuses each Q/DQ pair
// into an integer op; evaluated as written it computes the int8 model's
// values in floating point.
func ONNXInt8(m Int8Model, scale float64, meta map[string]string) (*onnx.ModelProto, error) {
	if err := feedForward(m.Spec); err != nil {
		return nil, fmt.Errorf("export: onnx int8: a %s model: the int8 graph covers the mlp and cnn kinds", m.Spec.Kind)
	}
	if !(scale > 0) {
		return nil, fmt.Errorf("export: input scale %v, want > 0", scale)
	}
	layout, _, err := model.Layout(m.Spec)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	byName := map[string]checkpoint.ExportTensor{}
	for _, t := range m.Tensors {
		byName[t.Name] = t
	}
	norm, err := InputNorm(meta, m.Spec)
	if err != nil {
		return nil, err
	}
	g := &graph{norm: norm}
	h := g.node("Mul", []string{InputName, g.init("input_scale", []int{1}, []float32{float32(scale)})})
	h = g.normalize(h, norm, m.Spec.Input)
	flat := false
	for _, t := range layout {
		name, ok := strings.CutSuffix(t.Name, ".weight")
		if !ok {
			continue
		}
		conv := len(t.Shape) == 4
		if !conv && !flat && (len(m.Spec.Input) > 1 || m.Spec.Kind == model.KindCNN) {
			h = g.node("Flatten", []string{h}, intAttr("axis", 1))
			flat = true
		}
		w, ws, b := byName[name+".weight"], byName[name+".weight_scale"], byName[name+".bias"]
		a, ok := m.ActivationScales[name]
		if w.I8 == nil || !slices.Equal(w.Shape, t.Shape) || ws.Data == nil || b.Data == nil || !ok {
			return nil, fmt.Errorf("export: onnx int8: %s: want an I8 %s.weight %v, its weight_scale, bias and activation scale", name, name, t.Shape)
		}
		axis := int64(1)
		if conv {
			axis = 0
		}
		as := g.init(name+".input_scale", nil, []float32{a})
		zp := g.initInt8(name+".input_zero_point", nil, []int8{0})
		hq := g.node("QuantizeLinear", []string{h, as, zp})
		hd := g.node("DequantizeLinear", []string{hq, as, zp})
		wd := g.node("DequantizeLinear", []string{g.initInt8(w.Name, w.Shape, w.I8), g.init(ws.Name, ws.Shape, ws.Data),
			g.initInt8(name+".weight_zero_point", ws.Shape, make([]int8, len(ws.Data)))}, intAttr("axis", axis))
		if conv {
			pad := int64(0)
			if name == "conv0" {
				pad = cnnPad0
			}
			h = g.node("Conv", []string{hd, wd, g.init(b.Name, b.Shape, b.Data)},
				intsAttr("kernel_shape", cnnKernel, cnnKernel), intsAttr("pads", pad, pad, pad, pad), intsAttr("strides", 1, 1))
			h = g.node("Relu", []string{h})
			h = g.node("MaxPool", []string{h}, intsAttr("kernel_shape", cnnPool, cnnPool), intsAttr("strides", cnnPool, cnnPool))
			continue
		}
		h = g.node("Gemm", []string{hd, wd, g.init(b.Name, b.Shape, b.Data)})
		if t.Name != lastWeight(layout) {
			h = g.node("Relu", []string{h})
		}
	}
	return g.model("ringtrain_"+m.Spec.Kind+"_int8", valueInfo(InputName, m.Spec.Input), valueInfo(OutputName, []int{m.Spec.Classes}), meta), nil
}

// lastWeight is the name of the layout's last weight: the output layer's.
func lastWeight(layout []model.Tensor) string {
	for i := len(layout) - 1; i >= 0; i-- {
		if strings.HasSuffix(layout[i].Name, ".weight") {
			return layout[i].Name
		}
	}
	return ""
}

// initInt8 adds an INT8 initializer.
func (g *graph) initInt8(name string, shape []int, data []int8) string {
	raw := make([]byte, len(data))
	for i, v := range data {
		raw[i] = byte(v)
	}
	dims := make([]int64, len(shape))
	for i, d := range shape {
		dims[i] = int64(d)
	}
	g.inits = append(g.inits, &onnx.TensorProto{Name: name, Dims: dims, DataType: int32(onnx.TensorProto_INT8), RawData: raw})
	return name
}
