package export

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"

	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/internal/wire"
	"github.com/ringtrain/ringtrain/model"
)

// ONNX versions of the exported graph.
const (
	OpsetVersion = 13
	irVersion    = 7 // the IR version of opset 13 (ONNX 1.8); later runtimes read it
	// InputName and OutputName are the graph's input (raw values,
	// [batch, Spec.Input...]) and output ([batch, Classes] logits).
	InputName  = "input"
	OutputName = "logits"
	batchDim   = "batch"
)

// graph accumulates the nodes and initializers of an ONNX graph.
type graph struct {
	nodes []*onnx.NodeProto
	inits []*onnx.TensorProto
	n     int // node counter for unique names
	// norm is the input normalization after input_scale (nil: none).
	norm *data.Norm
}

// node appends an op with one output named after it and returns that name.
func (g *graph) node(op string, inputs []string, attrs ...*onnx.AttributeProto) string {
	name := fmt.Sprintf("%s_%d", strings.ToLower(op), g.n)
	g.n++
	g.nodes = append(g.nodes, &onnx.NodeProto{Name: name, OpType: op, Input: inputs, Output: []string{name}, Attribute: attrs})
	return name
}

// init adds a float initializer.
func (g *graph) init(name string, shape []int, data []float32) string {
	raw := make([]byte, 4*len(data))
	wire.PutFloat32s(raw, data)
	dims := make([]int64, len(shape))
	for i, d := range shape {
		dims[i] = int64(d)
	}
	g.inits = append(g.inits, &onnx.TensorProto{Name: name, Dims: dims, DataType: int32(onnx.TensorProto_FLOAT), RawData: raw})
	return name
}

func intAttr(name string, v int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INT, I: v}
}

func intsAttr(name string, v ...int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INTS, Ints: v}
}

// valueInfo is a float tensor value with a symbolic batch dimension first.
func valueInfo(name string, dims []int) *onnx.ValueInfoProto {
	return typedValueInfo(name, onnx.TensorProto_FLOAT, dims)
}

// typedValueInfo is a tensor value of type elem with a symbolic batch
// dimension first.
func typedValueInfo(name string, elem onnx.TensorProto_DataType, dims []int) *onnx.ValueInfoProto {
	shape := []*onnx.TensorShapeProto_Dimension{{Value: &onnx.TensorShapeProto_Dimension_DimParam{DimParam: batchDim}}}
	for _, d := range dims {
		shape = append(shape, &onnx.TensorShapeProto_Dimension{Value: &onnx.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
	}
	return &onnx.ValueInfoProto{Name: name, Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{
		TensorType: &onnx.TypeProto_Tensor{ElemType: int32(elem), Shape: &onnx.TensorShapeProto{Dim: shape}},
	}}}
}

// ONNX returns m as an ONNX model (IR 7, opset 13) that takes raw inputs
// "input" [batch, Spec.Input...] and returns "logits" [batch, Classes]:
//
//	Mul(input, input_scale)                      the training data's scaling
//	Sub(h, input_shift), Mul(h, input_factor)    per input value: data.normalize (input_normalization in meta)
//	cnn: Conv(5x5, pad 2) Relu MaxPool(2, 2)      conv0
//	     Conv(5x5)        Relu MaxPool(2, 2)      conv1
//	Flatten(axis 1)                              C-major, as ringtrain flattens
//	Gemm(h, fc<i>.weight [in, out], fc<i>.bias)  Relu after all but the last
//
// scale is the input_scale (1 when the data is used as it is); meta goes
// into the model's metadata_props. A layers network is layersGraph (the
// same input and output; int64 token ids [batch, T] when it starts with
// an embedding). lstm, gru and transformer language models take int64
// token ids "input" [batch, sequence] and return "logits" [batch,
// sequence, Classes] (rnnGraph, tfGraph; scale does not apply).
func ONNX(m Model, scale float64, meta map[string]string) (*onnx.ModelProto, error) {
	s := m.Spec
	if s.Kind != model.KindLayers && s.Kind != model.KindTransformer && !recurrent(s) && feedForward(s) != nil {
		return nil, fmt.Errorf("export: onnx: a %s model: ONNX covers the mlp, cnn, layers, lstm, gru and transformer kinds", s.Kind)
	}
	if !(scale > 0) {
		return nil, fmt.Errorf("export: input scale %v, want > 0", scale)
	}
	layout, err := m.layout()
	if err != nil {
		return nil, err
	}
	norm, err := InputNorm(meta, s)
	if err != nil {
		return nil, err
	}
	g := &graph{norm: norm}
	input := valueInfo(InputName, s.Input)
	output := valueInfo(OutputName, []int{s.Classes})
	switch {
	case recurrent(s):
		rnnGraph(g, m, layout)
		input, output = seqValueInfo(InputName, onnx.TensorProto_INT64), seqValueInfo(OutputName, onnx.TensorProto_FLOAT, s.Classes)
	case s.Kind == model.KindTransformer:
		tfGraph(g, m, layout)
		input, output = seqValueInfo(InputName, onnx.TensorProto_INT64), seqValueInfo(OutputName, onnx.TensorProto_FLOAT, s.Classes)
	case s.Kind == model.KindLayers:
		if err := layersGraph(g, m, layout, scale); err != nil {
			return nil, err
		}
		if tokenLayers(s) {
			input = typedValueInfo(InputName, onnx.TensorProto_INT64, s.Input)
		}
	default:
		ffGraph(g, m, layout, scale)
	}
	return g.model("ringtrain_"+m.Spec.Kind, input, output, meta), nil
}

// model returns g as an ONNX model (IR 7, opset 13) named name whose last
// node's output is the graph's output, with meta as its metadata_props.
func (g *graph) model(name string, input, output *onnx.ValueInfoProto, meta map[string]string) *onnx.ModelProto {
	g.nodes[len(g.nodes)-1].Output = []string{OutputName}
	var props []*onnx.StringStringEntryProto
	for _, k := range slices.Sorted(maps.Keys(meta)) {
		props = append(props, &onnx.StringStringEntryProto{Key: k, Value: meta[k]})
	}
	return &onnx.ModelProto{
		IrVersion:     irVersion,
		OpsetImport:   []*onnx.OperatorSetIdProto{{Domain: "", Version: OpsetVersion}},
		ProducerName:  "ringtrain",
		MetadataProps: props,
		Graph: &onnx.GraphProto{
			Name:        name,
			Node:        g.nodes,
			Initializer: g.inits,
			Input:       []*onnx.ValueInfoProto{input},
			Output:      []*onnx.ValueInfoProto{output},
		},
	}
}

// ffGraph adds the mlp and cnn graph (ONNX's comment).
func ffGraph(g *graph, m Model, layout []model.Tensor, scale float64) {
	h := g.node("Mul", []string{InputName, g.init("input_scale", []int{1}, []float32{float32(scale)})})
	h = g.normalize(h, g.norm, m.Spec.Input)
	i := 0
	for ; i < len(layout) && len(layout[i].Shape) == 4; i += 2 {
		w, b := layout[i], layout[i+1]
		pad := int64(0)
		if i == 0 {
			pad = cnnPad0
		}
		h = g.node("Conv", []string{h, g.init(w.Name, w.Shape, m.tensor(w)), g.init(b.Name, b.Shape, m.tensor(b))},
			intsAttr("kernel_shape", cnnKernel, cnnKernel), intsAttr("pads", pad, pad, pad, pad), intsAttr("strides", 1, 1))
		h = g.node("Relu", []string{h})
		h = g.node("MaxPool", []string{h}, intsAttr("kernel_shape", cnnPool, cnnPool), intsAttr("strides", cnnPool, cnnPool))
	}
	if len(m.Spec.Input) > 1 || i > 0 {
		h = g.node("Flatten", []string{h}, intAttr("axis", 1))
	}
	for ; i < len(layout); i += 2 {
		w, b := layout[i], layout[i+1]
		h = g.node("Gemm", []string{h, g.init(w.Name, w.Shape, m.tensor(w)), g.init(b.Name, b.Shape, m.tensor(b))})
		if i+2 < len(layout) {
			h = g.node("Relu", []string{h})
		}
	}
}

// WriteONNX writes mp in the protobuf encoding of an .onnx file.
func WriteONNX(w io.Writer, mp *onnx.ModelProto) error {
	b, err := proto.Marshal(mp)
	if err != nil {
		return fmt.Errorf("export: onnx: %w", err)
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("export: onnx: %w", err)
	}
	return nil
}
