package data

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// ManifestName is the manifest's file name in a shard directory.
const ManifestName = "shards.json"

// ManifestFormat is the manifest's "format" value.
const ManifestFormat = "ringtrain-shards"

// MaxManifestBytes bounds the manifest file read.
const MaxManifestBytes = 64 << 20

// ShardManifest describes a shard directory (docs/data.md): the samples'
// shape and type, the classes, what the raw values are scaled by, and the
// shard files of each split with their sample counts, sizes and CRC32C.
type ShardManifest struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	// Shape is the per-sample shape; its product is the features per sample.
	Shape []int `json:"shape"`
	// DType is "uint8" or "float32": how the features are stored.
	DType string `json:"dtype"`
	// Classes is the number of labels; ClassNames their names (optional).
	Classes    int      `json:"classes"`
	ClassNames []string `json:"class_names,omitempty"`
	// InputScale multiplies the stored (raw) values before the model
	// (1/255 for IDX pixels, 1 for CSV); InputMin and InputMax are the raw
	// training values' range.
	InputScale float64 `json:"input_scale"`
	InputMin   float64 `json:"input_min"`
	InputMax   float64 `json:"input_max"`
	// Source says what the shards were packed from: "idx", "csv",
	// "synthetic", "images", or "text": a token stream (PackText), whose
	// records are windows of Context+1 token ids.
	Source string `json:"source,omitempty"`
	// Vocab is a token stream's vocabulary: its characters in token order
	// (Classes of them); Context the model.context it was packed for.
	Vocab   string `json:"vocab,omitempty"`
	Context int    `json:"context,omitempty"`
	// Train and Test list the splits' shard files, in order.
	Train []ShardEntry `json:"train"`
	Test  []ShardEntry `json:"test"`
}

// ShardEntry is one shard file of a split.
type ShardEntry struct {
	// File is the shard's name in the directory (no path separators).
	File    string `json:"file"`
	Samples int    `json:"samples"`
	Bytes   int64  `json:"bytes"`
	// CRC32C is the Castagnoli CRC of the whole file, 8 hex digits.
	CRC32C string `json:"crc32c"`
}

// Dim is the features per sample.
func (m *ShardManifest) Dim() int {
	d := 1
	for _, s := range m.Shape {
		d *= s
	}
	return d
}

// dtype is the manifest's dtype as the header's code (0 if unknown).
func (m *ShardManifest) dtype() int {
	switch m.DType {
	case "uint8":
		return ShardUint8
	case "float32":
		return ShardFloat32
	}
	return 0
}

// Samples is the number of samples of a split.
func Samples(entries []ShardEntry) int {
	n := 0
	for _, e := range entries {
		n += e.Samples
	}
	return n
}

// Validate checks the manifest's fields; path names it in errors.
func (m *ShardManifest) Validate(path string) error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("%s: %s: %s", path, key, fmt.Sprintf(format, args...))
	}
	if m.Format != ManifestFormat {
		return bad("format", "%q: want %q", m.Format, ManifestFormat)
	}
	if m.Version != ShardVersion {
		return bad("version", "%d: this ringtrain reads version %d", m.Version, ShardVersion)
	}
	if len(m.Shape) == 0 || len(m.Shape) > 4 {
		return bad("shape", "%v: want 1 to 4 sizes", m.Shape)
	}
	dim := 1
	for _, s := range m.Shape {
		if s < 1 || dim > MaxShardDim/s {
			return bad("shape", "%v: want positive sizes of at most %d elements in all", m.Shape, MaxShardDim)
		}
		dim *= s
	}
	if m.dtype() == 0 {
		return bad("dtype", "%q: want uint8 or float32", m.DType)
	}
	if m.Classes < 2 || m.Classes > MaxClasses {
		return bad("classes", "%d: want 2..%d", m.Classes, MaxClasses)
	}
	if m.ClassNames != nil && len(m.ClassNames) != m.Classes {
		return bad("class_names", "%d names for %d classes", len(m.ClassNames), m.Classes)
	}
	if !(m.InputScale > 0) || math.IsInf(m.InputScale, 0) {
		return bad("input_scale", "%v: want a finite number > 0", m.InputScale)
	}
	if math.IsNaN(m.InputMin) || math.IsNaN(m.InputMax) || math.IsInf(m.InputMin, 0) || math.IsInf(m.InputMax, 0) || m.InputMin > m.InputMax {
		return bad("input_min", "%v..%v: want a finite range", m.InputMin, m.InputMax)
	}
	if err := m.validateText(func(key, format string, args ...any) error { return bad(key, format, args...) }); err != nil {
		return err
	}
	if len(m.Train) == 0 {
		return bad("train", "no shards")
	}
	h := ShardHeader{DType: m.dtype(), Dim: dim}
	seen := map[string]bool{}
	for si, entries := range [][]ShardEntry{m.Train, m.Test} {
		split := [...]string{"train", "test"}[si]
		total := 0
		for i, e := range entries {
			key := fmt.Sprintf("%s[%d]", split, i)
			if e.File == "" || e.File != filepath.Base(e.File) || e.File == "." || e.File == ".." || strings.ContainsAny(e.File, `/\`) || e.File == ManifestName {
				return bad(key+".file", "%q: want a file name in the directory", e.File)
			}
			if seen[e.File] {
				return bad(key+".file", "%q listed twice", e.File)
			}
			seen[e.File] = true
			if e.Samples < 1 || e.Samples > math.MaxUint32 {
				return bad(key+".samples", "%d: want at least 1", e.Samples)
			}
			if total > math.MaxInt32-e.Samples {
				return bad(key+".samples", "the split has more than %d samples", math.MaxInt32)
			}
			total += e.Samples
			h.Count = e.Samples
			if e.Bytes != h.FileSize() {
				return bad(key+".bytes", "%d: %d samples of %d %s features make %d", e.Bytes, e.Samples, dim, m.DType, h.FileSize())
			}
			if len(e.CRC32C) != 8 || strings.Trim(e.CRC32C, "0123456789abcdef") != "" {
				return bad(key+".crc32c", "%q: want 8 lower-case hex digits", e.CRC32C)
			}
		}
	}
	return nil
}

// DecodeManifest decodes and validates a manifest; path names it in
// errors. Unknown fields are errors.
func DecodeManifest(path string, b []byte) (*ShardManifest, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m ShardManifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: trailing data after the manifest", path)
	}
	if err := m.Validate(path); err != nil {
		return nil, err
	}
	return &m, nil
}

// ReadManifest reads dir's shards.json.
func ReadManifest(dir string) (*ShardManifest, error) {
	path := filepath.Join(dir, ManifestName)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: shards: %w (a directory written by ringtrain data pack)", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxManifestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("data: shards: read %s: %w", path, err)
	}
	if len(b) > MaxManifestBytes {
		return nil, fmt.Errorf("data: shards: %s is larger than %d bytes", path, MaxManifestBytes)
	}
	m, err := DecodeManifest(path, b)
	if err != nil {
		return nil, fmt.Errorf("data: shards: %w", err)
	}
	return m, nil
}

// ShardSet is a shard directory and its manifest.
type ShardSet struct {
	Dir      string
	Manifest *ShardManifest
}

// Counts is the sample count of each training shard.
func (s *ShardSet) Counts() []int {
	c := make([]int, len(s.Manifest.Train))
	for i, e := range s.Manifest.Train {
		c[i] = e.Samples
	}
	return c
}
