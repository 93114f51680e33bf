package job

import "fmt"

// validateSequence checks the language-model keys: they go with a text
// source, and their sizes.
func (s Spec) validateSequence(bad func(key, format string, args ...any)) {
	m, text := s.Model, s.Data.Source == "text" || s.Data.Source == "shakespeare"
	switch {
	case m.Sequence() && !text && s.Data.Source != "shards":
		bad("model.kind", "%s is a language model: it needs data.source text, shakespeare or shards (packed from a text), not %s", m.Kind, s.Data.Source)
	case !m.Sequence() && text && (m.Kind == "mlp" || m.Kind == "cnn" || m.Kind == "layers"):
		bad("data.source", "%s is text, for model.kind transformer, lstm or gru, not %s", s.Data.Source, m.Kind)
	}
	if !m.Sequence() {
		return
	}
	if m.Loss != "xent" {
		bad("model.loss", "a language model trains on xent (next-token cross-entropy), got %q", m.Loss)
	}
	if m.Context < 1 || m.Context > 1<<16 {
		bad("model.context", "must be in 1..65536, got %d", m.Context)
	}
	if m.Embed < 1 || m.Embed > 1<<16 {
		bad("model.embed", "must be in 1..65536, got %d", m.Embed)
	}
	if m.Dropout < 0 || m.Dropout >= 1 {
		bad("model.dropout", "must be in [0, 1), got %g", m.Dropout)
	}
	if m.Kind == "transformer" {
		if m.Blocks < 1 || m.Blocks > 1024 {
			bad("model.blocks", "must be in 1..1024, got %d", m.Blocks)
		}
		if m.Heads < 1 || m.Embed%max(1, m.Heads) != 0 {
			bad("model.heads", "must be at least 1 and divide model.embed %d, got %d", m.Embed, m.Heads)
		}
		if len(m.Hidden) > 0 {
			bad("model.hidden", "does not apply to a transformer (its MLP is 4 × embed wide), got %v", m.Hidden)
		}
		return
	}
	if len(m.Hidden) == 0 || len(m.Hidden) > 16 {
		bad("model.hidden", "%s needs 1..16 recurrent layer widths, got %d", m.Kind, len(m.Hidden))
	}
	if m.Dropout != 0 || m.Bias {
		bad("model.dropout", "%s", fmt.Sprintf("dropout and bias are transformer settings, not %s's", m.Kind))
	}
}
