package model

import (
	"fmt"
	"slices"
)

// Builder returns the network of a named model for data of the given
// per-sample shape and number of classes, as a list of layers (kind
// "layers"). It may inspect the shape to size its layers.
type Builder func(input []int, classes int) ([]Layer, error)

// Registry maps model names to Builders, so a Go program can define its
// own models once and build them by name, e.g. from a flag or its own job
// files. It is a value the program creates and owns (NewRegistry): there
// is no package-level registry, and the built-in kinds are not in it.
// A Registry is not safe for concurrent Register calls.
type Registry struct {
	builders map[string]Builder
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{builders: make(map[string]Builder)} }

// Register adds b under name. The name must be new, non-empty and not a
// built-in kind.
func (r *Registry) Register(name string, b Builder) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: register: empty model name", ErrSpec)
	case b == nil:
		return fmt.Errorf("%w: register %q: nil builder", ErrSpec, name)
	case slices.Contains([]string{KindMLP, KindCNN, KindLayers, KindTransformer, KindLSTM, KindGRU}, name):
		return fmt.Errorf("%w: register %q: a built-in kind", ErrSpec, name)
	}
	if _, dup := r.builders[name]; dup {
		return fmt.Errorf("%w: register %q: already registered", ErrSpec, name)
	}
	r.builders[name] = b
	return nil
}

// Names lists the registered models, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.builders))
	for n := range r.builders {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Spec builds the named model for the data's shape and classes with the
// given loss and checks it (Spec.Validate): the error names the model and
// the first layer that does not fit.
func (r *Registry) Spec(name string, input []int, classes int, loss string) (Spec, error) {
	b, ok := r.builders[name]
	if !ok {
		return Spec{}, fmt.Errorf("%w: model %q is not registered (have %v)", ErrSpec, name, r.Names())
	}
	net, err := b(slices.Clone(input), classes)
	if err != nil {
		return Spec{}, fmt.Errorf("%w: model %q: %w", ErrSpec, name, err)
	}
	s := Spec{Kind: KindLayers, Input: slices.Clone(input), Classes: classes, Loss: loss, Net: net}
	if err := s.Validate(); err != nil {
		return Spec{}, fmt.Errorf("model %q: %w", name, err)
	}
	return s, nil
}
