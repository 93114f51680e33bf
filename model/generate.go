package model

import (
	"fmt"
	"math"
)

// checkTokens checks that every value of x is a token id: an integer in
// [0, vocab).
func checkTokens(op string, x []float32, vocab int) error {
	for i, v := range x {
		if v < 0 || v >= float32(vocab) || v != float32(math.Trunc(float64(v))) {
			return fmt.Errorf("%w: %s: x[%d] = %v, want a token id in 0..%d", ErrInput, op, i, v, vocab-1)
		}
	}
	return nil
}

// NextLogits runs a sequence model on one sample of the given tokens (1 to
// the context length) and returns the logits of the next token (Classes
// values, valid until the next call). Programs are built on first use
// and cached per length.
func (m *Model) NextLogits(tokens []int32) ([]float32, error) {
	if m.closed {
		return nil, ErrClosed
	}
	if !m.spec.Sequence() {
		return nil, fmt.Errorf("%w: NextLogits: %s is not a sequence model", ErrInput, m.spec.Kind)
	}
	t := len(tokens)
	if t < 1 || t > m.spec.Targets() {
		return nil, fmt.Errorf("%w: NextLogits: %d tokens, want 1..%d (the context)", ErrInput, t, m.spec.Targets())
	}
	if m.gens == nil {
		m.gens = make(map[int]*fusedEval)
	}
	fe, ok := m.gens[t]
	if !ok {
		var err error
		if fe, err = newFusedEval(m.spec, m.layout, m.params, 1, t); err != nil {
			return nil, err
		}
		m.gens[t] = fe
	}
	x := fe.net.xbuf
	for i, tok := range tokens {
		if tok < 0 || int(tok) >= m.spec.Classes {
			return nil, fmt.Errorf("%w: NextLogits: token %d = %d, want 0..%d", ErrInput, i, tok, m.spec.Classes-1)
		}
		x[i] = float32(tok)
	}
	logits, err := fe.forward(x)
	if err != nil {
		return nil, err
	}
	return logits[(t-1)*m.spec.Classes : t*m.spec.Classes], nil
}
