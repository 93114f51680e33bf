package export

import (
	"fmt"

	"github.com/ringtrain/ringtrain/model"
)

// Model is a trained network: its spec and its parameters in model.Layout
// order (offsets of model.Layout(Spec)).
type Model struct {
	Spec   model.Spec
	Params []float32
}

// layout returns the model's tensors, checking the parameter count.
func (m Model) layout() ([]model.Tensor, error) {
	layout, total, err := model.Layout(m.Spec)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if len(m.Params) != total {
		return nil, fmt.Errorf("export: %d parameters, the %s model has %d", len(m.Params), m.Spec.Kind, total)
	}
	return layout, nil
}

// tensor returns the values of layout entry t.
func (m Model) tensor(t model.Tensor) []float32 { return m.Params[t.Offset : t.Offset+t.Size()] }

// transpose returns the [cols, rows] transpose of a row-major [rows, cols]
// matrix.
func transpose(a []float32, rows, cols int) []float32 {
	out := make([]float32, len(a))
	for r := range rows {
		for c := range cols {
			out[c*rows+r] = a[r*cols+c]
		}
	}
	return out
}

// feedForward returns an error unless s is an mlp or cnn.
func feedForward(s model.Spec) error {
	if s.Kind == model.KindMLP || s.Kind == model.KindCNN {
		return nil
	}
	return fmt.Errorf("export: a %s model: the torch layout covers the mlp, cnn, layers, lstm, gru and transformer kinds", s.Kind)
}
