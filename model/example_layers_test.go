package model_test

import (
	"fmt"

	"github.com/ringtrain/ringtrain/model"
)

// A Go program defines its own network as a list of layers (kind
// "layers"): the shapes follow from Input, and Validate (or New) names the
// first layer that does not fit.
func Example_layers() {
	spec := model.Spec{
		Kind:    model.KindLayers,
		Input:   []int{1, 8, 8}, // one 8×8 channel per sample
		Classes: 2,
		Loss:    model.LossXent,
		Net: []model.Layer{
			{Type: model.LayerConv2D, Out: 4, Kernel: 3, Pad: 1}, // [4 8 8]
			{Type: model.LayerReLU},
			{Type: model.LayerMaxPool, Size: 2}, // [4 4 4]
			{Type: model.LayerFlatten},          // [64]
			{Type: model.LayerLinear, Out: 16},
			{Type: model.LayerTanh},
			{Type: model.LayerLinear, Out: 2},
		},
	}
	const batch = 8
	m, err := model.New(spec, batch)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	if err := model.InitParams(spec, m.Params(), 1); err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range m.Layout() {
		fmt.Println(t.Name, t.Shape)
	}
	// Class 1 is a bright top half, class 0 a bright bottom half.
	x, y := make([]float32, batch*64), make([]int32, batch)
	for i := range batch {
		y[i] = int32(i % 2)
		for p := range 64 {
			if (p < 32) == (y[i] == 1) {
				x[i*64+p] = 1
			}
		}
	}
	var first, last float32
	for step := range 30 {
		loss, err := m.ForwardBackward(x, y)
		if err != nil {
			fmt.Println(err)
			return
		}
		if step == 0 {
			first = loss
		}
		last = loss
		for i, g := range m.Grads() { // plain SGD
			m.Params()[i] -= 0.1 * g
		}
	}
	_, correct, err := m.Evaluate(x, y)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss fell: %v, correct %d/%d\n", last < first/4, correct, batch)

	spec.Net = append(spec.Net[:3:3], spec.Net[4:]...) // without the flatten layer
	fmt.Println(spec.Validate())
	// Output:
	// layers.0.weight [4 1 3 3]
	// layers.0.bias [4]
	// layers.4.weight [64 16]
	// layers.4.bias [16]
	// layers.6.weight [16 2]
	// layers.6.bias [2]
	// loss fell: true, correct 8/8
	// model: invalid spec: layers[3] (linear): input shape [4 4 4] is not flat: add a flatten layer before it
}
