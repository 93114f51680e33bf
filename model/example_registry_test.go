package model_test

import (
	"errors"
	"fmt"

	"github.com/ringtrain/ringtrain/model"
)

// A Go program registers its own model builders in a Registry it owns and
// builds them by name for its data: here a "wide" MLP whose hidden
// width follows the input size.
func ExampleRegistry() {
	reg := model.NewRegistry()
	err := reg.Register("wide", func(input []int, classes int) ([]model.Layer, error) {
		if len(input) != 1 {
			return nil, errors.New("wide wants flat samples")
		}
		return []model.Layer{
			{Type: model.LayerLinear, Out: 4 * input[0]},
			{Type: model.LayerGELU},
			{Type: model.LayerLayerNorm},
			{Type: model.LayerLinear, Out: classes},
		}, nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	spec, err := reg.Spec("wide", []int{6}, 3, model.LossXent)
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := model.New(spec, 4)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	for _, t := range m.Layout() {
		fmt.Println(t.Name, t.Shape)
	}
	_, err = reg.Spec("wide", []int{2, 3}, 3, model.LossXent)
	fmt.Println(err)
	_, err = reg.Spec("tall", []int{6}, 3, model.LossXent)
	fmt.Println(err)
	// Output:
	// layers.0.weight [6 24]
	// layers.0.bias [24]
	// layers.2.weight [24]
	// layers.2.bias [24]
	// layers.3.weight [24 3]
	// layers.3.bias [3]
	// model: invalid spec: model "wide": wide wants flat samples
	// model: invalid spec: model "tall" is not registered (have [wide])
}
