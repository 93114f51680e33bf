package data

import (
	"fmt"
	"math"
	"slices"
)

// ManifestSourceText is the manifest "source" of a token stream packed
// from a text (PackText).
const ManifestSourceText = "text"

// MaxTextContext bounds the context a text is packed for (model.context's
// bound).
const MaxTextContext = 1 << 16

// TextWindows is the number of records PackText makes of n tokens with
// context c: windows of c+1 tokens starting every c tokens (consecutive
// windows share one token, so every token but the first is a target
// exactly once), floor((n-1)/c) of them; the last (n-1) mod c tokens, too
// few for a window, are left out.
func TextWindows(n, context int) int {
	if context < 1 || n < context+1 {
		return 0
	}
	return (n - 1) / context
}

// TextWindow is record k of tokens packed with context: tokens[k*context :
// k*context+context+1] (a view).
func TextWindow(tokens []uint16, context, k int) []uint16 {
	return tokens[k*context : k*context+context+1]
}

// TextDType is the dtype a vocabulary of n tokens is packed as: uint8
// when every token id fits a byte (n <= 256), float32 otherwise (exact up
// to 2^24, far above MaxVocab).
func TextDType(n int) int {
	if n <= 256 {
		return ShardUint8
	}
	return ShardFloat32
}

// PackText writes t as a token-stream shard directory dir (created; it
// must not exist or be empty) for a language model of context tokens:
// the training split is t.Train's TextWindows records, the test split
// t.Val's, each record the context+1 token ids of a window (inputs are
// its first context tokens, targets its last context) with label 0, in
// the text's order (the workers shuffle shards and records per epoch).
// The manifest says source "text" and holds the vocabulary and the
// context, so a job trains, samples and exports as from the text. Only
// opt.ShardBytes and opt.Progress are used.
func PackText(dir string, t *Text, context int, opt PackOptions) (*ShardManifest, error) {
	if t == nil || t.Vocab == nil || len(t.Train)+len(t.Val) == 0 {
		return nil, fmt.Errorf("data: pack text: empty text: want at least one character")
	}
	if context < 1 || context > MaxTextContext {
		return nil, fmt.Errorf("data: pack text %s: context %d: want 1..%d (model.context)", t.Name, context, MaxTextContext)
	}
	if t.Vocab.Len() < 2 {
		return nil, fmt.Errorf("data: pack text %s: %d distinct character: a language model needs at least 2", t.Name, t.Vocab.Len())
	}
	for _, sp := range []struct {
		name string
		n    int
	}{{"training (the first 90%)", len(t.Train)}, {"validation (the last 10%)", len(t.Val)}} {
		if sp.n < context+1 {
			return nil, fmt.Errorf("data: pack text %s: context %d needs windows of %d tokens, but the %s part has %d characters: use a smaller --context or a longer text",
				t.Name, context, context+1, sp.name, sp.n)
		}
	}
	if err := emptyDir(dir); err != nil {
		return nil, err
	}
	dtype := TextDType(t.Vocab.Len())
	m := &ShardManifest{Format: ManifestFormat, Version: ShardVersion, Shape: []int{context + 1}, DType: DTypeName(dtype),
		Classes: t.Vocab.Len(), InputScale: 1, Source: ManifestSourceText, Vocab: string(t.Vocab.Runes()), Context: context}
	total := TextWindows(len(t.Train), context) + TextWindows(len(t.Val), context)
	done := 0
	raw := make([]float32, context+1)
	for si, tokens := range [][]uint16{t.Train, t.Val} {
		prefix := [...]string{"train", "test"}[si]
		w, err := NewShardWriter(dir, prefix, dtype, context+1, opt.ShardBytes)
		if err != nil {
			return nil, err
		}
		for k := range TextWindows(len(tokens), context) {
			for j, tok := range TextWindow(tokens, context, k) {
				raw[j] = float32(tok)
			}
			if err := w.Add(0, raw); err != nil {
				return nil, fmt.Errorf("data: pack text %s: %s window %d: %w", t.Name, prefix, k, err)
			}
			if done++; opt.Progress != nil {
				opt.Progress(done, total)
			}
		}
		entries, lo, hi, err := w.Close()
		if err != nil {
			return nil, err
		}
		if si == 0 {
			m.Train, m.InputMin, m.InputMax = entries, lo, hi
		} else {
			m.Test = entries
		}
	}
	if err := WriteManifest(dir, m); err != nil {
		return nil, err
	}
	return m, nil
}

// IsText reports whether the manifest is a token stream (PackText).
func (m *ShardManifest) IsText() bool { return m.Source == ManifestSourceText }

// TextVocab is a token stream's vocabulary (nil, nil for other shards).
func (m *ShardManifest) TextVocab() (*Vocab, error) {
	if !m.IsText() {
		return nil, nil
	}
	v, err := VocabFromRunes([]rune(m.Vocab))
	if err != nil {
		return nil, fmt.Errorf("data: shards: vocab: %w", err)
	}
	return v, nil
}

// validateText checks a token stream's keys: the vocabulary (sorted,
// distinct characters, one per class), the context (shape [context+1]),
// input_scale 1 and token ids in range; other shards have neither vocab
// nor context.
func (m *ShardManifest) validateText(bad func(key, format string, args ...any) error) error {
	if !m.IsText() {
		if m.Vocab != "" || m.Context != 0 {
			return bad("vocab", "vocab and context are for a token stream (source %q), not source %q", ManifestSourceText, m.Source)
		}
		return nil
	}
	runes := []rune(m.Vocab)
	if _, err := VocabFromRunes(runes); err != nil {
		return bad("vocab", "%v", err)
	}
	if len(runes) != m.Classes {
		return bad("vocab", "%d characters for %d classes: want one per token", len(runes), m.Classes)
	}
	if m.ClassNames != nil {
		return bad("class_names", "a token stream's names are its vocab")
	}
	if m.Context < 1 || m.Context > MaxTextContext {
		return bad("context", "%d: want 1..%d", m.Context, MaxTextContext)
	}
	if !slices.Equal(m.Shape, []int{m.Context + 1}) {
		return bad("shape", "%v: a token stream packed for context %d has records of [%d] tokens", m.Shape, m.Context, m.Context+1)
	}
	if m.InputScale != 1 {
		return bad("input_scale", "%v: token ids are stored as they are (1)", m.InputScale)
	}
	if m.InputMin < 0 || m.InputMax > float64(m.Classes-1) || m.InputMin != math.Trunc(m.InputMin) || m.InputMax != math.Trunc(m.InputMax) {
		return bad("input_min", "%v..%v: token ids are integers in 0..%d", m.InputMin, m.InputMax, m.Classes-1)
	}
	return nil
}

// RecordTokens checks that a token stream's record, as read (float32
// values), holds token ids below vocab, and writes the inputs (the first
// len(x) tokens) into x and the targets (the last len(y)) into y:
// len(rec) = len(x)+1 = len(y)+1.
func RecordTokens(rec []float32, vocab int, x []float32, y []int32) error {
	if len(x) != len(rec)-1 || len(y) != len(x) {
		return fmt.Errorf("data: token record of %d values into %d inputs and %d targets", len(rec), len(x), len(y))
	}
	for j, v := range rec {
		if !(v >= 0 && v < float32(vocab)) || v != float32(math.Trunc(float64(v))) {
			return fmt.Errorf("data: token record: value %d is %v: want a token id in 0..%d", j, v, vocab-1)
		}
	}
	copy(x, rec[:len(x)])
	for j := range y {
		y[j] = int32(rec[j+1])
	}
	return nil
}
