package model_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/model"
)

// TestBadSpecs feeds invalid specs to every entry point: each must return
// an error wrapping ErrSpec that names the problem, and never panic.
func TestBadSpecs(t *testing.T) {
	good := tinyMLP
	tests := []struct {
		name string
		edit func(s *model.Spec)
		want string // substring of the error
	}{
		{"empty kind", func(s *model.Spec) { s.Kind = "" }, "Kind"},
		{"unknown kind", func(s *model.Spec) { s.Kind = "rnn" }, "Kind"},
		{"empty loss", func(s *model.Spec) { s.Loss = "" }, "Loss"},
		{"unknown loss", func(s *model.Spec) { s.Loss = "l1" }, "Loss"},
		{"zero classes", func(s *model.Spec) { s.Classes = 0 }, "Classes"},
		{"one class", func(s *model.Spec) { s.Classes = 1 }, "Classes"},
		{"negative classes", func(s *model.Spec) { s.Classes = -4 }, "Classes"},
		{"huge classes", func(s *model.Spec) { s.Classes = 1 << 40 }, "Classes"},
		{"zero hidden", func(s *model.Spec) { s.Hidden = []int{5, 0} }, "Hidden[1]"},
		{"negative hidden", func(s *model.Spec) { s.Hidden = []int{-3} }, "Hidden[0]"},
		{"no input", func(s *model.Spec) { s.Input = nil }, "Input"},
		{"zero input dim", func(s *model.Spec) { s.Input = []int{3, 0} }, "Input[1]"},
		{"negative input dim", func(s *model.Spec) { s.Input = []int{-1} }, "Input[0]"},
		{"huge input", func(s *model.Spec) { s.Input = []int{1 << 20, 1 << 20} }, "Input"},
		{"too many params", func(s *model.Spec) { s.Hidden = []int{1 << 20, 1 << 20} }, "parameters"},
		{"cnn 2-d input", func(s *model.Spec) { s.Kind = "cnn"; s.Input = []int{28, 28} }, "[C, H, W]"},
		{"cnn too small", func(s *model.Spec) { s.Kind = "cnn"; s.Input = []int{1, 11, 28} }, "H and W"},
		{"cnn zero channels", func(s *model.Spec) { s.Kind = "cnn"; s.Input = []int{0, 28, 28} }, "Input[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := good
			spec.Hidden = append([]int(nil), good.Hidden...)
			spec.Input = append([]int(nil), good.Input...)
			tc.edit(&spec)

			check := func(what string, err error) {
				t.Helper()
				if !errors.Is(err, model.ErrSpec) {
					t.Errorf("%s: err = %v, want ErrSpec", what, err)
				} else if !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: err = %q, want it to name %q", what, err, tc.want)
				}
			}
			check("Validate", spec.Validate())
			_, _, err := model.Layout(spec)
			check("Layout", err)
			check("InitParams", model.InitParams(spec, make([]float32, 10), 1))
			m, err := model.New(spec, 4)
			check("New", err)
			if m != nil {
				t.Error("New returned a model with an error")
			}
		})
	}
}

// TestBadInputs feeds wrong batch sizes, lengths and labels to a valid
// model: errors wrapping ErrInput naming the problem, no panic, and the
// model still works afterwards.
func TestBadInputs(t *testing.T) {
	spec := tinyMLP // input 6, classes 3
	const batch = 4
	in := spec.InputSize()
	m := newModel(t, spec, batch, 1)
	x, y := randomBatch(spec, batch, 1)

	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"New batch 0", func() error { _, err := model.New(spec, 0); return err }, "batch"},
		{"New batch -1", func() error { _, err := model.New(spec, -1); return err }, "batch"},
		{"New huge batch", func() error { _, err := model.New(spec, model.MaxDim+1); return err }, "batch"},
		{"New batch x input too large", func() error {
			_, err := model.New(model.Spec{Kind: "mlp", Input: []int{1 << 24}, Classes: 2, Loss: "xent"}, 128)
			return err
		}, "exceeds"},
		{"InitParams short", func() error { return model.InitParams(spec, make([]float32, 3), 1) }, "params has 3"},
		{"InitParams nil", func() error { return model.InitParams(spec, nil, 1) }, "params has 0"},
		{"FB short x", func() error { _, err := m.ForwardBackward(x[:len(x)-1], y); return err }, "x has"},
		{"FB long x", func() error { _, err := m.ForwardBackward(append(x, 0), y); return err }, "x has"},
		{"FB nil x", func() error { _, err := m.ForwardBackward(nil, y); return err }, "x has 0"},
		{"FB short y", func() error { _, err := m.ForwardBackward(x[:3*in], y[:3]); return err }, "labels"},
		{"FB long y", func() error {
			x5, y5 := randomBatch(spec, batch+1, 1)
			_, err := m.ForwardBackward(x5, y5)
			return err
		}, "labels"},
		{"FB label -1", func() error { _, err := m.ForwardBackward(x, []int32{0, -1, 0, 0}); return err }, "y[1] = -1"},
		{"FB label = classes", func() error { _, err := m.ForwardBackward(x, []int32{0, 0, 0, 3}); return err }, "y[3] = 3"},
		{"Eval x/y mismatch", func() error { _, _, err := m.Evaluate(x, y[:2]); return err }, "x has"},
		{"Eval label", func() error { _, _, err := m.Evaluate(x, []int32{0, 1, 2, 7}); return err }, "y[3] = 7"},
		{"Eval x without y", func() error { _, _, err := m.Evaluate(x, nil); return err }, "x has"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if !errors.Is(err, model.ErrInput) {
				t.Fatalf("err = %v, want ErrInput", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %q, want it to mention %q", err, tc.want)
			}
		})
	}
	if _, err := m.ForwardBackward(x, y); err != nil {
		t.Fatalf("model unusable after bad inputs: %v", err)
	}
}

func TestClosed(t *testing.T) {
	m, err := model.New(tinyMLP, 2)
	if err != nil {
		t.Fatal(err)
	}
	x, y := randomBatch(tinyMLP, 2, 1)
	if _, _, err := m.Evaluate(x, y); err != nil { // builds an eval graph, closed below too
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := m.ForwardBackward(x, y); !errors.Is(err, model.ErrClosed) {
		t.Fatalf("ForwardBackward after Close: %v, want ErrClosed", err)
	}
	if _, _, err := m.Evaluate(x, y); !errors.Is(err, model.ErrClosed) {
		t.Fatalf("Evaluate after Close: %v, want ErrClosed", err)
	}
	if len(m.Params()) == 0 {
		t.Fatal("Params gone after Close")
	}
}
