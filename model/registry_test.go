package model_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/model"
)

func TestRegistryErrors(t *testing.T) {
	reg := model.NewRegistry()
	ok := func([]int, int) ([]model.Layer, error) {
		return []model.Layer{{Type: model.LayerLinear, Out: 5}}, nil
	}
	if err := reg.Register("m", ok); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		b    model.Builder
		want string
	}{
		{"", ok, "empty model name"},
		{"x", nil, "nil builder"},
		{"mlp", ok, "a built-in kind"},
		{"m", ok, "already registered"},
	} {
		if err := reg.Register(c.name, c.b); err == nil || !errors.Is(err, model.ErrSpec) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Register(%q): %v, want an error naming %q", c.name, err, c.want)
		}
	}
	// The builder's network is checked against the data: 5 outputs, 3 classes.
	_, err := reg.Spec("m", []int{4}, 3, model.LossXent)
	if err == nil || !strings.Contains(err.Error(), `model "m"`) || !strings.Contains(err.Error(), "output 5 but the data has 3 classes") {
		t.Errorf("Spec: %v", err)
	}
	s, err := reg.Spec("m", []int{4}, 5, model.LossXent)
	if err != nil || s.Kind != model.KindLayers || len(s.Net) != 1 {
		t.Errorf("Spec: %+v, %v", s, err)
	}
	if names := reg.Names(); len(names) != 1 || names[0] != "m" {
		t.Errorf("Names() = %v", names)
	}
}
