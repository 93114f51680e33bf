package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func mustReadText(t testing.TB, s string) *Text {
	t.Helper()
	txt, err := ReadText("test", strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return txt
}

// gunzipped returns b decompressed.
func gunzipped(t testing.TB, b []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// TestShakespeare: the numbers of nanoGPT's shakespeare_char, and the
// tokens decode back to the file.
func TestShakespeare(t *testing.T) {
	txt, err := Shakespeare()
	if err != nil {
		t.Fatal(err)
	}
	if txt.Name != "tinyshakespeare" {
		t.Errorf("Name %q, want tinyshakespeare", txt.Name)
	}
	if got := len(txt.Train) + len(txt.Val); got != 1115394 {
		t.Errorf("%d characters, want 1,115,394", got)
	}
	if len(txt.Train) != 1003854 || len(txt.Val) != 111540 {
		t.Errorf("train %d, val %d tokens; want 1,003,854 and 111,540", len(txt.Train), len(txt.Val))
	}
	const vocab = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	if got := string(txt.Vocab.Runes()); got != vocab || txt.Vocab.Len() != 65 {
		t.Errorf("vocabulary %q (%d), want %q (65)", got, txt.Vocab.Len(), vocab)
	}
	whole, err := txt.Vocab.Decode(append(slices.Clone(txt.Train), txt.Val...))
	if err != nil {
		t.Fatal(err)
	}
	if want := gunzipped(t, []byte(tinyShakespeare)); whole != want {
		t.Errorf("decoded text (%d bytes) differs from the file (%d bytes)", len(whole), len(want))
	}
	if !strings.HasPrefix(whole, "First Citizen:\n") {
		t.Errorf("text starts %q", whole[:min(20, len(whole))])
	}
}

// TestShakespeareChecksum: the embedded file is the one whose SHA-256 the
// README lists.
func TestShakespeareChecksum(t *testing.T) {
	f, err := os.Open("shakespeare/README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) == 2 && fields[1] == "input.txt.gz" {
			want = fields[0]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(tinyShakespeare))
	if got := hex.EncodeToString(sum[:]); got != want {
		t.Errorf("embedded input.txt.gz has SHA-256 %s, README says %q", got, want)
	}
}

func TestReadText(t *testing.T) {
	for _, tc := range []struct {
		name, in, vocab string
		train, val      []uint16
	}{
		{"one character", "a", "a", []uint16{}, []uint16{0}},
		{"hello", "hello", "ehlo", []uint16{1, 0, 2, 2}, []uint16{3}},
		{"ten", "abcabcabca", "abc", []uint16{0, 1, 2, 0, 1, 2, 0, 1, 2}, []uint16{0}},
		{"non-ASCII sorts after ASCII", "é a€é", " aé€", []uint16{2, 0, 1, 3}, []uint16{2}},
		{"U+FFFD is a character", "x\uFFFDx", "x\uFFFD", []uint16{0, 1}, []uint16{0}},
		{"NUL is a character", "\x00\x00b", "\x00b", []uint16{0, 0}, []uint16{1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, in := range [][]byte{[]byte(tc.in), gz(t, []byte(tc.in))} {
				txt, err := ReadText("x", bytes.NewReader(in))
				if err != nil {
					t.Fatal(err)
				}
				if got := string(txt.Vocab.Runes()); got != tc.vocab {
					t.Errorf("vocabulary %q, want %q", got, tc.vocab)
				}
				if !slices.Equal(txt.Train, tc.train) || !slices.Equal(txt.Val, tc.val) {
					t.Errorf("train %v val %v, want %v %v", txt.Train, txt.Val, tc.train, tc.val)
				}
				if txt.Name != "x" {
					t.Errorf("Name %q", txt.Name)
				}
			}
		})
	}
}

// TestTrainCannotGrowIntoVal: appending to Train copies instead of
// overwriting Val.
func TestTrainCannotGrowIntoVal(t *testing.T) {
	txt := mustReadText(t, "abcdefghijk")
	val := slices.Clone(txt.Val)
	_ = append(txt.Train, 99)
	if !slices.Equal(txt.Val, val) {
		t.Errorf("Val changed to %v by appending to Train", txt.Val)
	}
}

// TestSplitIsNanoGPTs: n*9/10 equals nanoGPT's int(n*0.9) in float64.
func TestSplitIsNanoGPTs(t *testing.T) {
	check := func(n int) {
		if got, want := n*9/10, int(float64(n)*0.9); got != want {
			t.Fatalf("n = %d: n*9/10 = %d, int(n*0.9) = %d", n, got, want)
		}
	}
	for n := range 100000 {
		check(n)
	}
	for n := MaxTextBytes - 100000; n <= MaxTextBytes; n++ {
		check(n)
	}
}

func TestReadTextErrors(t *testing.T) {
	full := gz(t, []byte("some text to compress"))
	badCRC := slices.Clone(full)
	badCRC[len(badCRC)-8] ^= 0xff
	many := make([]rune, 0, MaxVocab+1)
	for r := rune(0); len(many) <= MaxVocab; r++ {
		if utf8.ValidRune(r) {
			many = append(many, r)
		}
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want []string
	}{
		{"empty", nil, []string{"data: text src:", "empty"}},
		{"empty gzip", gz(t, nil), []string{"empty"}},
		{"invalid byte", []byte("ab\xffc"), []string{"invalid UTF-8", "byte offset 2", "0xff"}},
		{"truncated sequence", []byte("h\u00e9llo\xc3"), []string{"invalid UTF-8", "byte offset 6"}},
		{"surrogate", []byte("ok\xed\xa0\x80"), []string{"invalid UTF-8", "byte offset 2"}},
		{"overlong", []byte("\xc0\xaf"), []string{"invalid UTF-8", "byte offset 0"}},
		{"invalid inside gzip", gz(t, []byte("abc\x80")), []string{"invalid UTF-8", "byte offset 3"}},
		{"gzip magic only", []byte{0x1f, 0x8b}, []string{"gzip"}},
		{"gzip bad header", []byte{0x1f, 0x8b, 0x99, 0, 0, 0, 0, 0, 0, 0}, []string{"gzip"}},
		{"gzip truncated", full[:len(full)-6], []string{"gzip", "unexpected EOF"}},
		{"gzip bad checksum", badCRC, []string{"gzip", "checksum"}},
		{"too many characters", []byte(string(many)), []string{"65536 distinct characters", "at most 65535"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			txt, err := ReadText("src", bytes.NewReader(tc.in))
			if err == nil {
				t.Fatalf("no error; got %d+%d tokens", len(txt.Train), len(txt.Val))
			}
			if txt != nil {
				t.Errorf("non-nil Text with error %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestReadTextMaxVocab: exactly MaxVocab distinct characters load, the
// last one's token is MaxVocab-1.
func TestReadTextMaxVocab(t *testing.T) {
	many := make([]rune, 0, MaxVocab)
	for r := rune(0x10FFFF); len(many) < MaxVocab; r-- {
		many = append(many, r)
	}
	txt := mustReadText(t, string(many))
	if txt.Vocab.Len() != MaxVocab {
		t.Fatalf("vocabulary of %d, want %d", txt.Vocab.Len(), MaxVocab)
	}
	all := append(slices.Clone(txt.Train), txt.Val...)
	if all[0] != MaxVocab-1 || all[len(all)-1] != 0 {
		t.Errorf("first token %d, last %d; want %d and 0", all[0], all[len(all)-1], MaxVocab-1)
	}
}

func TestLoadTextFile(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.txt")
	zipped := filepath.Join(dir, "zipped.txt.gz")
	if err := os.WriteFile(plain, []byte("to be or not"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(zipped, gz(t, []byte("to be or not")), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, name := range map[string]string{plain: "plain.txt", zipped: "zipped.txt"} {
		txt, err := LoadTextFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if txt.Name != name || string(txt.Vocab.Runes()) != " benort" || len(txt.Train) != 10 || len(txt.Val) != 2 {
			t.Errorf("%s: Name %q vocab %q train %d val %d", path, txt.Name, string(txt.Vocab.Runes()), len(txt.Train), len(txt.Val))
		}
	}
	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("abc\xfe"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.txt"), "missing.txt"},
		{bad, bad + ": invalid UTF-8 at byte offset 3"},
	} {
		if _, err := LoadTextFile(tc.path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LoadTextFile(%s): error %v, want one containing %q", tc.path, err, tc.want)
		}
	}
}

func TestVocabFromRunes(t *testing.T) {
	tooMany := make([]rune, 0, MaxVocab+1)
	for r := rune(0); len(tooMany) <= MaxVocab; r++ {
		if utf8.ValidRune(r) {
			tooMany = append(tooMany, r)
		}
	}
	for _, tc := range []struct {
		name  string
		runes []rune
		want  string // "" for success
	}{
		{"one", []rune{'a'}, ""},
		{"sorted", []rune("\n !AZaz\u00e9\u20ac\U0001F600"), ""},
		{"max", tooMany[:MaxVocab], ""},
		{"empty", nil, "0 characters: want 1..65535"},
		{"too many", tooMany, "65536 characters: want 1..65535"},
		{"unsorted", []rune("abdc"), "character 3 ('c', U+0063) after 'd' (U+0064) is out of order"},
		{"duplicate", []rune("abb"), "character 2 ('b', U+0062) after 'b' (U+0062) is a duplicate"},
		{"negative", []rune{-1, 'a'}, "character 0 is -0x1: not a valid Unicode code point"},
		{"surrogate", []rune{'a', 0xD800}, "character 1 is 0xd800"},
		{"beyond Unicode", []rune{'a', 0x110000}, "character 1 is 0x110000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := VocabFromRunes(tc.runes)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want one containing %q", err, tc.want)
				}
				if v != nil {
					t.Error("non-nil Vocab with an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(v.Runes(), tc.runes) || v.Len() != len(tc.runes) {
				t.Errorf("Runes() %q, want %q", v.Runes(), tc.runes)
			}
			for i, r := range tc.runes {
				if tok, ok := v.Token(r); !ok || int(tok) != i {
					t.Errorf("Token(%q) = %d, %v; want %d, true", r, tok, ok, i)
				}
			}
		})
	}
}

// TestVocabKeepsItsCopy: changing the slice given to VocabFromRunes or
// returned by Runes does not change the vocabulary.
func TestVocabKeepsItsCopy(t *testing.T) {
	in := []rune("abc")
	v, err := VocabFromRunes(in)
	if err != nil {
		t.Fatal(err)
	}
	in[0] = 'z'
	v.Runes()[1] = 'z'
	if got := string(v.Runes()); got != "abc" {
		t.Errorf("Runes() %q after changes to the copies, want \"abc\"", got)
	}
}

func TestEncodeDecode(t *testing.T) {
	v, err := VocabFromRunes([]rune("\n !dehlorw\u00e9\u20ac"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"", "hello world!", "h\u00e9llo \u20ac\n", "\n\n\n"} {
		tokens, err := v.Encode(s)
		if err != nil {
			t.Fatalf("Encode(%q): %v", s, err)
		}
		if len(tokens) != utf8.RuneCountInString(s) {
			t.Errorf("Encode(%q): %d tokens, want %d", s, len(tokens), utf8.RuneCountInString(s))
		}
		back, err := v.Decode(tokens)
		if err != nil || back != s {
			t.Errorf("Decode(Encode(%q)) = %q, %v", s, back, err)
		}
	}
	if got, _ := v.Encode("hello"); !slices.Equal(got, []uint16{5, 4, 6, 6, 7}) {
		t.Errorf("Encode(hello) = %v, want [5 4 6 6 7]", got)
	}
	for _, tc := range []struct{ in, want string }{
		{"hello, world", "character ',' (U+002C) at byte offset 5 is not in the vocabulary of 12 characters"},
		{"h\u00e9\u00e8", "character '\u00e8' (U+00E8) at byte offset 3"},
		{"he\xffl", "invalid UTF-8 at byte offset 2 (0xff)"},
	} {
		tokens, err := v.Encode(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Encode(%q): error %v, want one containing %q", tc.in, err, tc.want)
		}
		if tokens != nil {
			t.Errorf("Encode(%q): tokens %v with an error", tc.in, tokens)
		}
	}
	if _, err := v.Decode([]uint16{0, 11, 12, 3}); err == nil || !strings.Contains(err.Error(), "token 12 at index 2: want < 12") {
		t.Errorf("Decode with token 12: error %v", err)
	}
	// A vocabulary that holds U+FFFD still refuses invalid UTF-8.
	w, err := VocabFromRunes([]rune{'a', utf8.RuneError})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Encode("a\x80"); err == nil {
		t.Error("Encode of invalid UTF-8 succeeded with U+FFFD in the vocabulary")
	}
	if got, err := w.Encode("a\uFFFD"); err != nil || !slices.Equal(got, []uint16{0, 1}) {
		t.Errorf("Encode(a U+FFFD) = %v, %v", got, err)
	}
}

func BenchmarkShakespeare(b *testing.B) {
	b.SetBytes(1115394)
	for b.Loop() {
		if _, err := Shakespeare(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadTextNonASCII(b *testing.B) {
	var sb strings.Builder
	for i := range 1 << 18 {
		sb.WriteRune(rune('a' + i%26))
		sb.WriteRune(rune(0x4e00 + i%3000))
	}
	s := sb.String()
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		if _, err := ReadText("b", strings.NewReader(s)); err != nil {
			b.Fatal(err)
		}
	}
}
