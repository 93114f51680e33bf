package export

import (
	"fmt"

	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/model"
)

// KeyInputNormalization is the data.normalize map the model was trained
// with: JSON of data.Norm, {"kind", "shift", "factor", "constant"}, one
// shift and factor per input value. A raw input r becomes the model's
// (r·input_scale - shift[j])·factor[j], in float32 in that order
// (checkpoint.ExportMeta copies it from the manifest).
const KeyInputNormalization = "input_normalization"

// InputNorm returns the normalization meta records for a model of spec
// (nil when there is none); an unusable one is an error naming the key.
func InputNorm(meta map[string]string, spec model.Spec) (*data.Norm, error) {
	v, ok := meta[KeyInputNormalization]
	if !ok {
		return nil, nil
	}
	n, err := data.ParseNorm([]byte(v), spec.InputSize())
	if err != nil {
		return nil, fmt.Errorf("export: metadata %s: %w", KeyInputNormalization, err)
	}
	return n, nil
}

// normalize adds the nodes of n after h (the scaled input, of the
// per-sample shape): Sub(h, input_shift), Mul(·, input_factor), each
// initializer of the input's shape (broadcast over the batch). A nil n
// adds nothing.
func (g *graph) normalize(h string, n *data.Norm, shape []int) string {
	if n == nil {
		return h
	}
	h = g.node("Sub", []string{h, g.init("input_shift", shape, n.Shift)})
	return g.node("Mul", []string{h, g.init("input_factor", shape, n.Factor)})
}
