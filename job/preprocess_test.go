package job

import (
	"strings"
	"testing"
)

func TestPreprocessingKeys(t *testing.T) {
	s, err := Parse([]byte("data: {source: csv, path: a.csv, normalize: minmax, val_fraction: 0.2}\n"))
	if err != nil {
		t.Fatalf("csv with val_fraction and no test_path: %v", err)
	}
	if s.Data.Normalize != "minmax" || s.Data.ValFraction != 0.2 {
		t.Fatalf("parsed %+v", s.Data)
	}
	if d := Default().Data; d.Normalize != "none" || d.ValFraction != 0 {
		t.Fatalf("defaults %+v: want none and 0 (today's behaviour)", d)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"data: {normalize: zscore}", `data.normalize: "zscore" is not one of`},
		{"data: {val_fraction: 0.7}", "data.val_fraction: must be 0 (off) or in (0, 0.5], got 0.7"},
		{"data: {val_fraction: -0.1}", "data.val_fraction: must be 0"},
		{"data: {source: csv, path: a.csv}", "data.test_path: required for source csv (or set data.val_fraction"},
		{"data: {source: shakespeare, normalize: standard}\nmodel: {kind: transformer}", "data.normalize: standard: a language model's inputs are token ids"},
		{"data: {source: shakespeare, val_fraction: 0.1}\nmodel: {kind: lstm}", "data.val_fraction: a text's last 10% already validates"},
	} {
		_, err := Parse([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
