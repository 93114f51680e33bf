package model

import (
	"fmt"

	G "gorgonia.org/gorgonia"
)

// rnnArch is the recurrent models, lstm and gru (see Spec).
func rnnArch() arch {
	return arch{
		validate: func(s Spec) error {
			return fmt.Errorf("%w: Kind %q is not implemented yet", ErrSpec, s.Kind)
		},
		layout: func(Spec, func(string, ...int) error) error { return nil },
		init:   func(Spec, []Tensor, Tensor, []float32, *splitMix) {},
		build: func(*fusedNet, Spec, []Tensor, int, int) (*G.Node, error) {
			return nil, fmt.Errorf("%w: lstm and gru are not implemented yet", ErrSpec)
		},
	}
}
