package model

import (
	"fmt"

	G "gorgonia.org/gorgonia"
)

// arch is one family of models (Spec.Kind): the checks of its own
// fields, its parameter layout, the initialization of each tensor and its
// network as a fused graph.
type arch struct {
	// validate checks the kind's fields (the shared ones are checked).
	validate func(s Spec) error
	// layout adds the parameter tensors in graph order.
	layout func(s Spec, add func(name string, shape ...int) error) error
	// init fills tensor t (dst) from its own stream.
	init func(s Spec, layout []Tensor, t Tensor, dst []float32, rng *splitMix)
	// build adds the network for n samples of t positions (t is the
	// context or shorter for a sequence model, 1 otherwise) to fn, reading
	// fn.x and fn.params, and returns the logits node: (n·t, Classes) for
	// a sequence model, (n, Classes) otherwise.
	build func(fn *fusedNet, s Spec, layout []Tensor, n, t int) (*G.Node, error)
}

// archOf returns the family of kind.
func archOf(kind string) (arch, error) {
	switch kind {
	case KindMLP, KindCNN:
		return arch{validate: validateFF, layout: layoutFF, init: initFF, build: buildFF}, nil
	case KindTransformer:
		return transformerArch(), nil
	case KindLSTM, KindGRU:
		return rnnArch(), nil
	case KindLayers:
		return layersArch(), nil
	}
	return arch{}, fmt.Errorf("%w: Kind %q, want %q, %q, %q, %q, %q or %q", ErrSpec, kind,
		KindMLP, KindCNN, KindLayers, KindTransformer, KindLSTM, KindGRU)
}
