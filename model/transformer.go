package model

import (
	"fmt"

	G "gorgonia.org/gorgonia"
)

// transformerArch is the decoder-only transformer (see Spec).
func transformerArch() arch {
	return arch{
		validate: func(s Spec) error {
			return fmt.Errorf("%w: Kind %q is not implemented yet", ErrSpec, s.Kind)
		},
		layout: func(Spec, func(string, ...int) error) error { return nil },
		init:   func(Spec, []Tensor, Tensor, []float32, *splitMix) {},
		build: func(*fusedNet, Spec, []Tensor, int, int) (*G.Node, error) {
			return nil, fmt.Errorf("%w: transformer is not implemented yet", ErrSpec)
		},
	}
}
