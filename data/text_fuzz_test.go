package data

import (
	"bytes"
	"compress/gzip"
	"io"
	"slices"
	"testing"
	"unicode/utf8"
)

// FuzzReadText: no input panics; a success has train+val lengths summing to
// the number of characters, a vocabulary of the text's distinct
// characters that VocabFromRunes accepts, and tokens that decode to the (decompressed) text and encode
// back from it.
func FuzzReadText(f *testing.F) {
	f.Add([]byte("hello world\n"))
	f.Add([]byte("h\u00e9llo \u20ac \U0001F600"))
	f.Add(gz(f, []byte("First Citizen:\nBefore we proceed")))
	f.Add([]byte{})
	f.Add([]byte{0x1f, 0x8b})
	f.Add([]byte("ab\xffc"))
	f.Add([]byte("\xef\xbf\xbd\x00"))
	f.Add(gz(f, []byte("abc\x80")))
	f.Fuzz(func(t *testing.T, in []byte) {
		txt, err := ReadText("fuzz", bytes.NewReader(in))
		if err != nil {
			if txt != nil {
				t.Fatalf("error %v with a non-nil Text", err)
			}
			return
		}
		text := in
		if len(in) >= 2 && in[0] == 0x1f && in[1] == 0x8b {
			zr, err := gzip.NewReader(bytes.NewReader(in))
			if err != nil {
				t.Fatalf("ReadText accepted what gzip refuses: %v", err)
			}
			if text, err = io.ReadAll(zr); err != nil {
				t.Fatalf("ReadText accepted what gzip refuses: %v", err)
			}
		}
		n := utf8.RuneCount(text)
		if !utf8.Valid(text) || n == 0 {
			t.Fatalf("accepted %q: empty or invalid UTF-8", text)
		}
		if len(txt.Train)+len(txt.Val) != n || len(txt.Train) != n*9/10 {
			t.Fatalf("%d characters split into %d + %d", n, len(txt.Train), len(txt.Val))
		}
		if _, err := VocabFromRunes(txt.Vocab.Runes()); err != nil {
			t.Fatalf("vocabulary %q: %v", txt.Vocab.Runes(), err)
		}
		distinct := map[rune]bool{}
		for _, r := range string(text) {
			distinct[r] = true
		}
		if len(distinct) != txt.Vocab.Len() {
			t.Fatalf("%d distinct characters, vocabulary of %d", len(distinct), txt.Vocab.Len())
		}
		all := append(slices.Clone(txt.Train), txt.Val...)
		back, err := txt.Vocab.Decode(all)
		if err != nil {
			t.Fatal(err)
		}
		if back != string(text) {
			t.Fatalf("decoded %q, want %q", back, text)
		}
		again, err := txt.Vocab.Encode(back)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(again, all) {
			t.Fatalf("Encode(Decode(tokens)) = %v, want %v", again, all)
		}
	})
}
