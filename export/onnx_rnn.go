package export

import (
	"fmt"

	"github.com/advancedclimatesystems/gonnx/onnx"

	"github.com/ringtrain/ringtrain/model"
)

// seqDim is the symbolic sequence length of a language model's graph.
const seqDim = "sequence"

// onnxGateOrder maps ONNX's gate blocks to ringtrain's (PyTorch's): LSTM
// ONNX i, o, f, c from i, f, g, o; GRU ONNX z, r, h from r, z, n.
var onnxGateOrder = map[string][]int{model.KindLSTM: {0, 3, 1, 2}, model.KindGRU: {1, 0, 2}}

// initInt64 adds an int64 initializer.
func (g *graph) initInt64(name string, shape []int, data []int64) string {
	dims := make([]int64, len(shape))
	for i, d := range shape {
		dims[i] = int64(d)
	}
	g.inits = append(g.inits, &onnx.TensorProto{Name: name, Dims: dims, DataType: int32(onnx.TensorProto_INT64), Int64Data: data})
	return name
}

// gateMatrix turns a [rows, gates·h] weight (x·W) into ONNX's [1, gates·h,
// rows] (W·x), its gate blocks in ONNX's order.
func gateMatrix(w []float32, rows, h int, order []int) []float32 {
	t := transpose(w, rows, len(order)*h) // [gates·h, rows]
	out := make([]float32, 0, len(t))
	for _, blk := range order {
		out = append(out, t[blk*h*rows:(blk+1)*h*rows]...)
	}
	return out
}

// gateBias reorders a [gates·h] bias into ONNX's gate order.
func gateBias(b []float32, h int, order []int) []float32 {
	out := make([]float32, 0, len(b))
	for _, blk := range order {
		out = append(out, b[blk*h:(blk+1)*h]...)
	}
	return out
}

// rnnGraph adds a lstm or gru language model: tokens (int64 [batch,
// sequence]) → Gather(embed.weight) → Transpose to [sequence, batch, E] →
// per layer LSTM or GRU (PyTorch's equations: GRU linear_before_reset 1;
// zero initial states) and Squeeze of the direction axis → Transpose back
// → MatMul(head.weight) + head.bias → logits [batch, sequence, Classes].
func rnnGraph(g *graph, m Model, layout []model.Tensor) {
	s := m.Spec
	order := onnxGateOrder[s.Kind]
	op := map[string]string{model.KindLSTM: "LSTM", model.KindGRU: "GRU"}[s.Kind]
	h := g.node("Gather", []string{g.init(layout[0].Name, layout[0].Shape, m.tensor(layout[0])), InputName}, intAttr("axis", 0))
	h = g.node("Transpose", []string{h}, intsAttr("perm", 1, 0, 2))
	axes := g.initInt64("direction_axis", []int{1}, []int64{1})
	in := s.Embed
	for i, hid := range s.Hidden {
		wih, whh, bih, bhh := layout[1+4*i], layout[2+4*i], layout[3+4*i], layout[4+4*i]
		gates := len(order)
		name := fmt.Sprintf("%s%d", s.Kind, i)
		w := g.init(name+".W", []int{1, gates * hid, in}, gateMatrix(m.tensor(wih), in, hid, order))
		r := g.init(name+".R", []int{1, gates * hid, hid}, gateMatrix(m.tensor(whh), hid, hid, order))
		b := g.init(name+".B", []int{1, 2 * gates * hid}, append(gateBias(m.tensor(bih), hid, order), gateBias(m.tensor(bhh), hid, order)...))
		attrs := []*onnx.AttributeProto{intAttr("hidden_size", int64(hid))}
		if s.Kind == model.KindGRU {
			attrs = append(attrs, intAttr("linear_before_reset", 1))
		}
		h = g.rnnNode(op, i, []string{h, w, r, b}, attrs)
		h = g.node("Squeeze", []string{h, axes})
		in = hid
	}
	h = g.node("Transpose", []string{h}, intsAttr("perm", 1, 0, 2))
	k := len(layout) - 2
	h = g.node("MatMul", []string{h, g.init(layout[k].Name, layout[k].Shape, m.tensor(layout[k]))})
	g.node("Add", []string{h, g.init(layout[k+1].Name, layout[k+1].Shape, m.tensor(layout[k+1]))})
}

// seqValueInfo is a [batch, sequence, last...] value of a language model.
func seqValueInfo(name string, elem onnx.TensorProto_DataType, last ...int) *onnx.ValueInfoProto {
	shape := []*onnx.TensorShapeProto_Dimension{
		{Value: &onnx.TensorShapeProto_Dimension_DimParam{DimParam: batchDim}},
		{Value: &onnx.TensorShapeProto_Dimension_DimParam{DimParam: seqDim}},
	}
	for _, d := range last {
		shape = append(shape, &onnx.TensorShapeProto_Dimension{Value: &onnx.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
	}
	return &onnx.ValueInfoProto{Name: name, Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{
		TensorType: &onnx.TypeProto_Tensor{ElemType: int32(elem), Shape: &onnx.TensorShapeProto{Dim: shape}},
	}}}
}

// rnnNode appends recurrent layer i and returns its Y output. The outputs
// are named for gonnx's runtime, which finds an LSTM's outputs by the
// names "Y", "Y_h", "Y_c" and always returns a GRU's Y and Y_h: the first
// LSTM layer's Y is named "Y" (so gonnx runs one-layer LSTMs), a GRU
// declares both outputs.
func (g *graph) rnnNode(op string, layer int, inputs []string, attrs []*onnx.AttributeProto) string {
	y := g.node(op, inputs, attrs...)
	n := g.nodes[len(g.nodes)-1]
	switch {
	case op == "LSTM" && layer == 0:
		y = "Y"
		n.Output = []string{y}
	case op == "GRU":
		n.Output = []string{y, y + "_h"}
	}
	return y
}
