package checkpoint_test

import (
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/checkpoint"
)

// The input normalization a run fitted survives the manifest's encoding
// (self-checksum included) and is copied into an export's metadata as
// compact JSON; a manifest without one exports none.
func TestManifestKeepsInputNormalization(t *testing.T) {
	m := validManifest()
	norm := `{"kind":"standard","shift":[1.5,-2],"factor":[0.25,1],"constant":[1]}`
	m.InputNormalization = []byte(norm)
	b, err := checkpoint.EncodeManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := checkpoint.DecodeManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	if !checkpoint.SameModel(got.InputNormalization, m.InputNormalization) {
		t.Fatalf("input_normalization %s, want %s", got.InputNormalization, norm)
	}
	if meta := checkpoint.ExportMeta(got); meta["input_normalization"] != norm {
		t.Fatalf("export metadata input_normalization %q, want %q", meta["input_normalization"], norm)
	}
	if meta := checkpoint.ExportMeta(validManifest()); meta["input_normalization"] != "" {
		t.Fatalf("a manifest without a map exports %q", meta["input_normalization"])
	}
	if strings.Contains(string(mustEncode(t, validManifest())), "input_normalization") {
		t.Fatal("an empty map is written")
	}
}

func mustEncode(t *testing.T, m checkpoint.Manifest) []byte {
	t.Helper()
	b, err := checkpoint.EncodeManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
