package model

import "fmt"

// Forward runs the forward pass with the current Params on any number n of
// samples (x: n*InputSize values, raw model inputs) and returns their
// logits in a new slice: n*Targets*Classes values, sample by sample (for a
// sequence model, position by position within a sample). n = 0 gives an
// empty slice. Samples run in the chunks and cached graphs of Evaluate, so
// a Forward and an Evaluate of the same samples see the same logits.
func (m *Model) Forward(x []float32) ([]float32, error) {
	if m.closed {
		return nil, ErrClosed
	}
	in, classes, per := m.spec.InputSize(), m.spec.Classes, m.spec.Targets()
	if in == 0 || len(x)%in != 0 {
		return nil, fmt.Errorf("%w: Forward: x has %d values, want a multiple of the input size %d", ErrInput, len(x), in)
	}
	if m.spec.tokenInput() {
		if err := checkTokens("Forward", x, m.spec.vocabSize()); err != nil {
			return nil, err
		}
	}
	n := len(x) / in
	out := make([]float32, 0, n*per*classes)
	for start := 0; start < n; start += m.evalChunk {
		k := min(m.evalChunk, n-start)
		eg, err := m.evalGraph(evalSizeFor(k, m.evalChunk))
		if err != nil {
			return nil, err
		}
		logits, err := eg.forward(x[start*in : (start+k)*in])
		if err != nil {
			return nil, err
		}
		out = append(out, logits[:k*per*classes]...)
	}
	return out, nil
}
