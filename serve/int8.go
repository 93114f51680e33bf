package serve

import (
	"encoding/json"
	"fmt"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/model"
	"github.com/ringtrain/ringtrain/quant"
)

// The int8 engine: a file written by ringtrain export --quantize int8
// holds I8 weights, their per-channel scales and the calibrated
// activation scales (package quant); its Snapshot carries the quant.Model
// and the Predictor runs it instead of building a model.Model.

// loadQuantized builds the snapshot of an int8 export read from path.
func loadQuantized(path string, specJSON []byte, e *checkpoint.Exported, step int64) (*Snapshot, error) {
	var spec model.Spec
	if err := json.Unmarshal(specJSON, &spec); err != nil {
		return nil, fmt.Errorf("%s: model spec: %w", path, err)
	}
	q, err := quant.Load(spec, e)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &Snapshot{Spec: spec, Meta: e.Meta, Step: step, Quant: q}, nil
}

// forward runs the predictor's engine: the int8 model if it has one, else
// the float model.
func (p *Predictor) forward(x []float32) ([]float32, error) {
	if p.q != nil {
		return p.q.Forward(x)
	}
	return p.m.Forward(x)
}
