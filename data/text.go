package data

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxVocab caps the number of distinct characters of a text, so that every
// token fits a uint16.
const MaxVocab = 65535

// MaxTextBytes caps the size of a text ReadText accepts, before and after
// gunzipping: 1 GiB (its tokens take at most twice that).
const MaxTextBytes = 1 << 30

// tinyShakespeare is data/shakespeare/input.txt.gz (see its README.md).
//
//go:embed shakespeare/input.txt.gz
var tinyShakespeare string

// Vocab is a character vocabulary: token t stands for the t-th rune of a
// sorted list of distinct runes. It is read-only after construction and
// safe to share.
type Vocab struct {
	runes []rune
	ascii [utf8.RuneSelf]uint16 // token+1 of each ASCII rune; 0 when absent
}

// VocabFromRunes returns the vocabulary of runes, which must be 1 to
// MaxVocab valid Unicode code points in strictly increasing order (sorted,
// no duplicates), as Vocab.Runes returns them: use it for vocabularies read
// back from a checkpoint or an export. It keeps its own copy of runes.
func VocabFromRunes(runes []rune) (*Vocab, error) {
	if len(runes) == 0 || len(runes) > MaxVocab {
		return nil, fmt.Errorf("data: vocabulary of %d characters: want 1..%d", len(runes), MaxVocab)
	}
	for i, r := range runes {
		if !utf8.ValidRune(r) {
			return nil, fmt.Errorf("data: vocabulary character %d is %#x: not a valid Unicode code point", i, r)
		}
		if i > 0 && r <= runes[i-1] {
			what := "out of order"
			if r == runes[i-1] {
				what = "a duplicate"
			}
			return nil, fmt.Errorf("data: vocabulary character %d (%q, U+%04X) after %q (U+%04X) is %s: want sorted, distinct characters",
				i, r, r, runes[i-1], runes[i-1], what)
		}
	}
	return newVocab(slices.Clone(runes)), nil
}

// newVocab builds the lookup table of sorted, distinct, valid runes (at
// most MaxVocab), which it keeps.
func newVocab(runes []rune) *Vocab {
	v := &Vocab{runes: runes}
	for i, r := range runes {
		if r >= utf8.RuneSelf {
			break
		}
		v.ascii[r] = uint16(i + 1)
	}
	return v
}

// Len is the number of tokens (distinct characters).
func (v *Vocab) Len() int { return len(v.runes) }

// Runes returns a copy of the characters, in token order.
func (v *Vocab) Runes() []rune { return slices.Clone(v.runes) }

// Token returns the token of r, and whether r is in the vocabulary.
func (v *Vocab) Token(r rune) (uint16, bool) {
	if r >= 0 && r < utf8.RuneSelf {
		t := v.ascii[r]
		return t - 1, t != 0
	}
	i, ok := slices.BinarySearch(v.runes, r)
	return uint16(i), ok
}

// Encode returns the tokens of s. s must be valid UTF-8 and every character
// in the vocabulary; the error names the first one that is not, by its byte
// offset in s.
func (v *Vocab) Encode(s string) ([]uint16, error) {
	out := make([]uint16, 0, len(s))
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return nil, fmt.Errorf("data: encode: invalid UTF-8 at byte offset %d (%#02x)", i, s[i])
			}
		}
		t, ok := v.Token(r)
		if !ok {
			return nil, fmt.Errorf("data: encode: character %q (U+%04X) at byte offset %d is not in the vocabulary of %d characters",
				r, r, i, len(v.runes))
		}
		out = append(out, t)
	}
	return out, nil
}

// Decode returns the text of tokens. A token outside [0, Len()) is an
// error that names its index and value.
func (v *Vocab) Decode(tokens []uint16) (string, error) {
	var b strings.Builder
	b.Grow(len(tokens))
	for i, t := range tokens {
		if int(t) >= len(v.runes) {
			return "", fmt.Errorf("data: decode: token %d at index %d: want < %d (the vocabulary size)", t, i, len(v.runes))
		}
		b.WriteRune(v.runes[t])
	}
	return b.String(), nil
}

// Text is a character corpus split for training a character-level language
// model: Train is the first 90% of its characters and Val the rest, each
// character replaced by its token in Vocab. Read-only after loading and
// safe to share.
type Text struct {
	// Name identifies the text in logs, e.g. "tinyshakespeare".
	Name string
	// Vocab is the sorted set of the text's characters.
	Vocab *Vocab
	// Train and Val are the tokens of the first floor(0.9 n) characters
	// and of the remaining ones (n characters in all).
	Train, Val []uint16
}

// Shakespeare returns the embedded tiny Shakespeare corpus (data/shakespeare,
// see its README.md), named "tinyshakespeare": 1,115,394 characters, 65
// distinct, 1,003,854 train and 111,540 validation tokens. Each call
// decodes afresh.
func Shakespeare() (*Text, error) {
	return ReadText("tinyshakespeare", strings.NewReader(tinyShakespeare))
}

// LoadTextFile reads the text file at path (see ReadText) into a Text named
// after the file's base name less any ".gz".
func LoadTextFile(path string) (*Text, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	return readText(strings.TrimSuffix(filepath.Base(path), ".gz"), path, f)
}

// ReadText reads all of r, gunzipping it if it starts with the gzip magic
// (0x1f 0x8b), into a Text named name. The text must be non-empty, valid
// UTF-8 (the error names the byte offset of the first invalid sequence, in
// the decompressed text), at most MaxTextBytes long and have at most
// MaxVocab distinct characters. The vocabulary is the sorted set of its
// characters (runes); of its n characters, the first floor(0.9 n) train
// and the rest validate, as nanoGPT's train = data[:int(n*0.9)].
func ReadText(name string, r io.Reader) (*Text, error) {
	return readText(name, name, r)
}

// readText is ReadText with the source (a path, or the name) to put in
// errors.
func readText(name, src string, r io.Reader) (*Text, error) {
	raw, err := readAllLimited(r, MaxTextBytes)
	if err != nil {
		return nil, fmt.Errorf("data: text %s: %w", src, err)
	}
	if len(raw) >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("data: text %s: gzip: %w", src, err)
		}
		if raw, err = readAllLimited(zr, MaxTextBytes); err != nil {
			return nil, fmt.Errorf("data: text %s: gzip: %w", src, err)
		}
	}
	vocab, n, err := textVocab(raw)
	if err != nil {
		return nil, fmt.Errorf("data: text %s: %w", src, err)
	}
	tokens := encodeText(raw, vocab, n)
	split := n * 9 / 10 // n <= MaxTextBytes: no overflow
	return &Text{Name: name, Vocab: vocab, Train: tokens[:split:split], Val: tokens[split:]}, nil
}

// readAllLimited reads r to its end; more than limit bytes is an error.
func readAllLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("more than %d bytes (MaxTextBytes)", limit)
	}
	return b, nil
}

// textVocab checks that b is non-empty valid UTF-8 with at most MaxVocab
// distinct characters, and returns their vocabulary and the number of
// characters of b.
func textVocab(b []byte) (*Vocab, int, error) {
	if len(b) == 0 {
		return nil, 0, errors.New("empty text: want at least one character")
	}
	var ascii [utf8.RuneSelf]bool
	other := map[rune]struct{}{}
	n := 0
	for i := 0; i < len(b); n++ {
		if c := b[i]; c < utf8.RuneSelf {
			ascii[c] = true
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return nil, 0, fmt.Errorf("invalid UTF-8 at byte offset %d (%#02x)", i, b[i])
		}
		other[r] = struct{}{}
		i += size
	}
	var runes []rune
	for c, ok := range ascii {
		if ok {
			runes = append(runes, rune(c))
		}
	}
	if len(runes)+len(other) > MaxVocab {
		return nil, 0, fmt.Errorf("%d distinct characters: want at most %d (MaxVocab)", len(runes)+len(other), MaxVocab)
	}
	nonASCII := make([]rune, 0, len(other))
	for r := range other {
		nonASCII = append(nonASCII, r)
	}
	slices.Sort(nonASCII)
	return newVocab(append(runes, nonASCII...)), n, nil
}

// encodeText returns the n tokens of b, valid UTF-8 whose characters are
// all in v. Non-ASCII characters are looked up in a map built for the call.
func encodeText(b []byte, v *Vocab, n int) []uint16 {
	tokens := make([]uint16, n)
	var other map[rune]uint16
	if first, _ := slices.BinarySearch(v.runes, utf8.RuneSelf); first < len(v.runes) {
		other = make(map[rune]uint16, len(v.runes)-first)
		for t := first; t < len(v.runes); t++ {
			other[v.runes[t]] = uint16(t)
		}
	}
	k := 0
	for i := 0; i < len(b); k++ {
		if c := b[i]; c < utf8.RuneSelf {
			tokens[k] = v.ascii[c] - 1
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		tokens[k] = other[r]
		i += size
	}
	return tokens
}
