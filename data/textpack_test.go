package data

import (
	"path/filepath"
	"strings"
	"testing"
)

// A text packed and read back: the training split's records are the
// text's windows at every context-th token, in order, each record's last
// token the next one's first; the test split the validation text's; the
// manifest a token stream with the vocabulary and the context.
func TestPackTextRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		context    int
		dtype      string
	}{
		{"ascii", strings.Repeat("to be or not to be, that is the question.\n", 40), 7, "uint8"},
		{"one window each", "abcdefghijklmnopqrstuvwxyz0123456789ABCD", 3, "uint8"},
		// 300 distinct characters do not fit a byte: float32 token ids.
		{"wide", func() string {
			var b strings.Builder
			for i := range 3000 {
				b.WriteRune(rune(0x4e00 + (i*7)%300))
			}
			return b.String()
		}(), 5, "float32"},
	} {
		text, err := ReadText(tc.name, strings.NewReader(tc.text))
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "s")
		if _, err := PackText(dir, text, tc.context, PackOptions{ShardBytes: 256}); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		m, err := ReadManifest(dir)
		if err != nil {
			t.Fatal(err)
		}
		v, err := m.TextVocab()
		if err != nil || !m.IsText() || m.DType != tc.dtype || m.Context != tc.context || v.Len() != text.Vocab.Len() || string(v.Runes()) != string(text.Vocab.Runes()) {
			t.Fatalf("%s: manifest %+v (vocab %v, %v): want a %s token stream of context %d", tc.name, m, v, err, tc.dtype, tc.context)
		}
		for si, c := range []struct {
			entries []ShardEntry
			tokens  []uint16
		}{{m.Train, text.Train}, {m.Test, text.Val}} {
			d, _, err := LoadShardSplit(dir, m, c.entries, "x", false, nil)
			if err != nil {
				t.Fatal(err)
			}
			n := (len(c.tokens) - 1) / tc.context
			if d.N != n || d.Dim != tc.context+1 {
				t.Fatalf("%s split %d: %d records of %d: want %d of %d", tc.name, si, d.N, d.Dim, n, tc.context+1)
			}
			x, y := make([]float32, tc.context), make([]int32, tc.context)
			for k := range n {
				if err := RecordTokens(d.X[k*d.Dim:(k+1)*d.Dim], v.Len(), x, y); err != nil {
					t.Fatal(err)
				}
				for j := range tc.context { // the dumb reference: the text itself
					if x[j] != float32(c.tokens[k*tc.context+j]) || y[j] != int32(c.tokens[k*tc.context+j+1]) || d.Y[k] != 0 {
						t.Fatalf("%s split %d record %d token %d: %v -> %d, want %d -> %d", tc.name, si, k, j, x[j], y[j],
							c.tokens[k*tc.context+j], c.tokens[k*tc.context+j+1])
					}
				}
			}
		}
	}
}

// Texts that cannot be packed, and token-stream manifests that are not
// consistent, are errors that say what is wrong.
func TestPackTextErrors(t *testing.T) {
	long, err := ReadText("long", strings.NewReader(strings.Repeat("abcdefghij", 20))) // 180 + 20 characters
	if err != nil {
		t.Fatal(err)
	}
	one, err := ReadText("one", strings.NewReader(strings.Repeat("a", 50)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReadText("empty", strings.NewReader("")); err == nil || !strings.Contains(err.Error(), "empty text") {
		t.Errorf("empty text: %v", err)
	}
	for _, tc := range []struct {
		name    string
		text    *Text
		context int
		want    string
	}{
		{"empty", &Text{Name: "e"}, 4, "empty text"},
		{"context 0", long, 0, "context 0: want 1..65536"},
		{"context too large for the validation part", long, 20, "context 20 needs windows of 21 tokens, but the validation (the last 10%) part has 20 characters: use a smaller --context or a longer text"},
		{"context too large for the training part", long, 500, "the training (the first 90%) part has 180 characters"},
		{"one character", one, 2, "1 distinct character: a language model needs at least 2"},
	} {
		_, err := PackText(filepath.Join(t.TempDir(), "s"), tc.text, tc.context, PackOptions{ShardBytes: 1 << 10})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
	base := `{"format":"ringtrain-shards","version":1,"dtype":"uint8","input_scale":1,"input_min":0,"input_max":2,"train":[{"file":"a.rts","samples":1,"bytes":43,"crc32c":"00000000"}],"test":[],`
	for _, tc := range []struct{ rest, want string }{
		{`"shape":[3],"classes":3,"source":"text","vocab":"\nab","context":2}`, ""},
		{`"shape":[3],"classes":3,"source":"text","vocab":"\nba","context":2}`, "vocab: data: vocabulary character 2"},
		{`"shape":[3],"classes":4,"source":"text","vocab":"\nab","context":2}`, "vocab: 3 characters for 4 classes"},
		{`"shape":[4],"classes":3,"source":"text","vocab":"\nab","context":2}`, "shape: [4]: a token stream packed for context 2 has records of [3] tokens"},
		{`"shape":[3],"classes":3,"source":"text","vocab":"\nab"}`, "context: 0: want 1..65536"},
		{`"shape":[3],"classes":3,"source":"idx","vocab":"\nab","context":2}`, "vocab and context are for a token stream"},
	} {
		_, err := DecodeManifest("m", []byte(base+tc.rest))
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: got %v, want %q", tc.rest, err, tc.want)
		}
	}
}

// RecordTokens refuses values that are not token ids.
func TestRecordTokens(t *testing.T) {
	x, y := make([]float32, 2), make([]int32, 2)
	for _, rec := range [][]float32{{0, 1, 3}, {0, -1, 2}, {0, 1.5, 2}} {
		if err := RecordTokens(rec, 3, x, y); err == nil || !strings.Contains(err.Error(), "want a token id in 0..2") {
			t.Errorf("%v: %v", rec, err)
		}
	}
	if err := RecordTokens([]float32{2, 0, 1}, 3, x, y); err != nil || x[0] != 2 || x[1] != 0 || y[0] != 0 || y[1] != 1 {
		t.Errorf("x %v y %v: %v", x, y, err)
	}
}
