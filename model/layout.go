package model

import (
	"fmt"
	"slices"
)

// Tensor is one named parameter inside the flat parameter buffer. Offset
// and sizes are in float32 elements; the tensor occupies
// params[Offset : Offset+Size()] in row-major (C) order.
type Tensor struct {
	Name   string `json:"name"`
	Shape  []int  `json:"shape"`
	Offset int    `json:"offset"`
}

// Size is the number of elements of t (the product of its shape).
func (t Tensor) Size() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Layout returns the parameter layout of spec and the total number of
// parameters, without building any graph. Tensors are contiguous and in
// graph order; the shapes are the ones the gorgonia graph uses:
//
//	conv<i>.weight  [out_channels, in_channels, 5, 5]  (cnn only)
//	conv<i>.bias    [out_channels]                       (cnn only)
//	fc<i>.weight    [in_features, out_features]          (y = x·W + b)
//	fc<i>.bias      [out_features]
//
// Note fc weights are [in, out], the transpose of PyTorch's nn.Linear.
// The last fc<i> is the output layer (out_features = Classes). A cnn has
// conv0 (6 filters, pad 2) and conv1 (16 filters, no pad); its fc0 takes
// the flattened [16, H', W'] pooled feature map in C-major order.
func Layout(spec Spec) ([]Tensor, int, error) {
	if err := spec.validateFields(); err != nil {
		return nil, 0, err
	}
	return layoutOf(spec)
}

// layoutOf builds the layout of a spec whose fields are valid, checking
// the total against MaxParams.
func layoutOf(spec Spec) ([]Tensor, int, error) {
	var (
		out   []Tensor
		total int
	)
	add := func(name string, shape ...int) error {
		t := Tensor{Name: name, Shape: slices.Clone(shape), Offset: total}
		n := 1
		for _, d := range shape {
			if d < 1 || d > MaxParams || n > MaxParams/d {
				return fmt.Errorf("%w: %s %v makes the model larger than %d parameters", ErrSpec, name, shape, MaxParams)
			}
			n *= d
		}
		if n > MaxParams-total {
			return fmt.Errorf("%w: %s %v makes the model larger than %d parameters", ErrSpec, name, shape, MaxParams)
		}
		total += n
		out = append(out, t)
		return nil
	}

	a, err := archOf(spec.Kind)
	if err != nil {
		return nil, 0, err
	}
	if err := a.layout(spec, add); err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// layoutFF adds the tensors of the feed-forward kinds (mlp, cnn).
func layoutFF(spec Spec, add func(name string, shape ...int) error) error {
	in := spec.InputSize()
	if spec.Kind == KindCNN {
		c := spec.Input[0]
		if err := add("conv0.weight", cnnConv0Out, c, cnnKernel, cnnKernel); err != nil {
			return err
		}
		if err := add("conv0.bias", cnnConv0Out); err != nil {
			return err
		}
		if err := add("conv1.weight", cnnConv1Out, cnnConv0Out, cnnKernel, cnnKernel); err != nil {
			return err
		}
		if err := add("conv1.bias", cnnConv1Out); err != nil {
			return err
		}
		g := cnnGeometryOf(spec)
		in = cnnConv1Out * g.pool1H * g.pool1W
	}
	sizes := append(slices.Clone(spec.fcHidden()), spec.Classes)
	for i, o := range sizes {
		if err := add(fmt.Sprintf("fc%d.weight", i), in, o); err != nil {
			return err
		}
		if err := add(fmt.Sprintf("fc%d.bias", i), o); err != nil {
			return err
		}
		in = o
	}
	return nil
}

// cnnGeometry are the spatial sizes through the conv stack.
type cnnGeometry struct {
	conv0H, conv0W int // after conv0 (same as input: pad 2)
	pool0H, pool0W int // after the first maxpool
	conv1H, conv1W int // after conv1 (no pad)
	pool1H, pool1W int // after the second maxpool: fed to fc0
}

// cnnGeometryOf computes the geometry of a valid cnn spec (H, W >= 12).
func cnnGeometryOf(spec Spec) cnnGeometry {
	var g cnnGeometry
	g.conv0H, g.conv0W = spec.Input[1], spec.Input[2]
	g.pool0H, g.pool0W = g.conv0H/cnnPool, g.conv0W/cnnPool
	g.conv1H, g.conv1W = g.pool0H-cnnKernel+1, g.pool0W-cnnKernel+1
	g.pool1H, g.pool1W = g.conv1H/cnnPool, g.conv1W/cnnPool
	return g
}
