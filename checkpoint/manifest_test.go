package checkpoint_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/checkpoint"
)

// validManifest is a consistent 2-rank manifest of 30 params with Adam.
func validManifest() checkpoint.Manifest {
	s := newState(1, 30, "m", "v")
	m := manifestFor(12, 2, s, []checkpoint.ShardInfo{
		{Rank: 0, Lo: 0, Hi: 15, File: checkpoint.ShardFileName(0), Size: 400, CRC32C: 0xdeadbeef},
		{Rank: 1, Lo: 15, Hi: 30, File: checkpoint.ShardFileName(1), Size: 400, CRC32C: 1},
	})
	m.FormatVersion = checkpoint.FormatVersion
	return m
}

func TestManifestRoundTrip(t *testing.T) {
	m := validManifest()
	b, err := checkpoint.EncodeManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := checkpoint.DecodeManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	// RawMessages come back indented; compare them as compact JSON.
	if !checkpoint.SameModel(got.ModelSpec, m.ModelSpec) || !checkpoint.SameModel(got.OptimizerSpec, m.OptimizerSpec) {
		t.Fatalf("specs differ: %s %s", got.ModelSpec, got.OptimizerSpec)
	}
	got.ModelSpec, got.OptimizerSpec = m.ModelSpec, m.OptimizerSpec
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, m)
	}
	b2, err := checkpoint.EncodeManifest(got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, b2) {
		t.Fatal("re-encoding differs")
	}
	// Human-readable.
	if !bytes.Contains(b, []byte("\n  \"step\": 12,")) {
		t.Fatalf("not indented JSON:\n%s", b)
	}
}

func TestManifestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(m *checkpoint.Manifest)
	}{
		{"format version", func(m *checkpoint.Manifest) { m.FormatVersion = 2 }},
		{"negative step", func(m *checkpoint.Manifest) { m.Step = -1 }},
		{"world size", func(m *checkpoint.Manifest) { m.WorldSize = 3 }},
		{"no shards", func(m *checkpoint.Manifest) { m.WorldSize, m.Shards = 0, nil }},
		{"rank order", func(m *checkpoint.Manifest) { m.Shards[0].Rank, m.Shards[1].Rank = 1, 0 }},
		{"file name", func(m *checkpoint.Manifest) { m.Shards[1].File = "../../etc/passwd" }},
		{"gap between shards", func(m *checkpoint.Manifest) { m.Shards[1].Lo = 16 }},
		{"short coverage", func(m *checkpoint.Manifest) { m.NumParams = 31 }},
		{"size too small", func(m *checkpoint.Manifest) { m.Shards[0].Size = 100 }},
		{"layout outside", func(m *checkpoint.Manifest) { m.Layout[0].Offset = 29 }},
		{"layout overlap", func(m *checkpoint.Manifest) { m.Layout[1].Offset = 5 }},
		{"layout negative dim", func(m *checkpoint.Manifest) { m.Layout[0].Shape = []int{-2, -3} }},
		{"layout repeated name", func(m *checkpoint.Manifest) { m.Layout[1].Name = m.Layout[0].Name }},
		{"layout reserved name", func(m *checkpoint.Manifest) { m.Layout[0].Name = "__metadata__" }},
		{"state repeated", func(m *checkpoint.Manifest) { m.StateNames = []string{"m", "m"} }},
		{"bad model json", func(m *checkpoint.Manifest) { m.ModelSpec = json.RawMessage("{") }},
	}
	if err := func() *checkpoint.Manifest { m := validManifest(); return &m }().Validate(); err != nil {
		t.Fatalf("valid manifest: %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := validManifest()
			tc.edit(&m)
			if err := m.Validate(); !errors.Is(err, checkpoint.ErrInvalid) {
				t.Fatalf("Validate: %v, want ErrInvalid", err)
			}
			if _, err := checkpoint.EncodeManifest(m); !errors.Is(err, checkpoint.ErrInvalid) {
				t.Fatalf("EncodeManifest: %v, want ErrInvalid", err)
			}
		})
	}
}

func TestDecodeManifestRejects(t *testing.T) {
	good, err := checkpoint.EncodeManifest(validManifest())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, checkpoint.ErrCorrupt},
		{"garbage", []byte("\x00\x01garbage"), checkpoint.ErrCorrupt},
		{"truncated", good[:len(good)/2], checkpoint.ErrCorrupt},
		{"no version", []byte(`{"step":1}`), checkpoint.ErrCorrupt},
		{"future version", []byte(`{"format_version":2}`), checkpoint.ErrVersion},
		{"edited value", bytes.Replace(good, []byte(`"epoch": 1,`), []byte(`"epoch": 7,`), 1), checkpoint.ErrCorrupt},
		{"edited crc", bytes.Replace(good, []byte(`"crc32c": 1`), []byte(`"crc32c": 3`), 1), checkpoint.ErrCorrupt},
		{"no self-checksum", []byte(strings.Replace(string(good), `"manifest_crc32c"`, `"other"`, 1)), checkpoint.ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if bytes.Equal(tc.data, good) {
				t.Fatal("edit did not apply")
			}
			if _, err := checkpoint.DecodeManifest(tc.data); !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
	// Every single-bit flip is caught (or is harmless white space).
	for i := range good {
		for bit := 0; bit < 8; bit++ {
			b := append([]byte(nil), good...)
			b[i] ^= 1 << bit
			m, err := checkpoint.DecodeManifest(b)
			if err == nil {
				want, _ := checkpoint.DecodeManifest(good)
				if !reflect.DeepEqual(m, want) {
					t.Fatalf("flip of bit %d of byte %d (%q) went unnoticed", bit, i, good[i])
				}
			}
		}
	}
}
