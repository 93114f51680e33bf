package checkpoint

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/ringtrain/ringtrain/internal/wire"
)

// FormatVersion is the manifest format this package writes and reads.
const FormatVersion = 1

// MaxManifestBytes bounds the size of a manifest file this package reads.
const MaxManifestBytes = 64 << 20

// Tensor is one parameter inside the flat float32 buffer: elements
// [Offset, Offset+prod(Shape)), row-major.
type Tensor struct {
	Name   string `json:"name"`
	Shape  []int  `json:"shape"`
	Offset int    `json:"offset"`
}

// Cursor is the data sampler's position: the next global batch.
type Cursor struct {
	Epoch int `json:"epoch"`
	Step  int `json:"step"`
}

// ShardInfo describes one shard file of a checkpoint.
type ShardInfo struct {
	Rank   int    `json:"rank"`
	Lo     int    `json:"lo"` // flat range [Lo, Hi)
	Hi     int    `json:"hi"`
	File   string `json:"file"` // base name inside the step directory
	Size   int64  `json:"size"` // bytes
	CRC32C uint32 `json:"crc32c"`
}

// Manifest describes one checkpoint. The package treats ModelSpec,
// OptimizerSpec and RNG as opaque (ModelSpec is compared for equality as
// compact JSON).
type Manifest struct {
	// FormatVersion is the manifest format; 0 means FormatVersion when a
	// manifest is passed to Commit, ReadRange, ReadInto or Export.
	FormatVersion  int             `json:"format_version"`
	Step           int64           `json:"step"`
	Epoch          int             `json:"epoch"`
	Cursor         Cursor          `json:"cursor"`
	RNG            []byte          `json:"rng,omitempty"`
	WorldSize      int             `json:"world_size"`
	ModelSpec      json.RawMessage `json:"model_spec,omitempty"`
	NumParams      int             `json:"num_params"`
	Layout         []Tensor        `json:"layout"`
	OptimizerSpec  json.RawMessage `json:"optimizer_spec,omitempty"`
	OptimizerSteps int64           `json:"optimizer_steps"`
	StateNames     []string        `json:"state_names"`
	Shards         []ShardInfo     `json:"shards"`
	CreatedUnixMs  int64           `json:"created_unix_ms"`
	JobHash        string          `json:"job_hash,omitempty"`
	// Job is the job spec (YAML) whose hash is JobHash, so that a
	// checkpoint directory copied away from its run still says how the
	// model's inputs were prepared (export, serve). Older manifests lack it.
	Job string `json:"job,omitempty"`
	// InputNormalization is the data.normalize map the run fitted on its
	// training split (JSON of data.Norm, opaque here): a resumed run
	// applies it instead of fitting again, and exports carry it. Absent
	// when the job normalizes nothing.
	InputNormalization json.RawMessage `json:"input_normalization,omitempty"`
}

// manifestFile is the stored form: the manifest plus the CRC32C of its
// compact JSON encoding, so that a flipped bit that still parses is caught.
type manifestFile struct {
	Manifest
	ManifestCRC32C *uint32 `json:"manifest_crc32c"`
}

// manifestCRC is the CRC32C of m's compact JSON encoding.
func manifestCRC(m *Manifest) (uint32, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return 0, err
	}
	return wire.CRC32C(b), nil
}

// withVersion returns m with a zero FormatVersion set to the current one.
func withVersion(m Manifest) Manifest {
	if m.FormatVersion == 0 {
		m.FormatVersion = FormatVersion
	}
	return m
}

// EncodeManifest validates m and returns its stored form: indented JSON
// with a self-checksum.
func EncodeManifest(m Manifest) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("checkpoint: encode manifest: %w", err)
	}
	sum, err := manifestCRC(&m)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: encode manifest: %w: %w", err, ErrInvalid)
	}
	b, err := json.MarshalIndent(manifestFile{Manifest: m, ManifestCRC32C: &sum}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("checkpoint: encode manifest: %w: %w", err, ErrInvalid)
	}
	return append(b, '\n'), nil
}

// DecodeManifest parses a stored manifest, checks its format version, its
// self-checksum and its consistency (Validate).
func DecodeManifest(b []byte) (Manifest, error) {
	m, err := decodeManifest(b)
	if err != nil {
		return Manifest{}, fmt.Errorf("checkpoint: decode manifest: %w", err)
	}
	return m, nil
}

func decodeManifest(b []byte) (Manifest, error) {
	if len(b) > MaxManifestBytes {
		return Manifest{}, fmt.Errorf("%d bytes, more than %d: %w", len(b), MaxManifestBytes, ErrCorrupt)
	}
	var v struct {
		FormatVersion *int `json:"format_version"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return Manifest{}, fmt.Errorf("%w: %w", err, ErrCorrupt)
	}
	if v.FormatVersion == nil {
		return Manifest{}, fmt.Errorf("no format_version: %w", ErrCorrupt)
	}
	if *v.FormatVersion != FormatVersion {
		return Manifest{}, fmt.Errorf("format version %d, this build reads %d: %w", *v.FormatVersion, FormatVersion, ErrVersion)
	}
	var f manifestFile
	if err := json.Unmarshal(b, &f); err != nil {
		return Manifest{}, fmt.Errorf("%w: %w", err, ErrCorrupt)
	}
	if f.ManifestCRC32C == nil {
		return Manifest{}, fmt.Errorf("no manifest_crc32c: %w", ErrCorrupt)
	}
	sum, err := manifestCRC(&f.Manifest)
	if err != nil {
		return Manifest{}, fmt.Errorf("%w: %w", err, ErrCorrupt)
	}
	if sum != *f.ManifestCRC32C {
		return Manifest{}, fmt.Errorf("manifest_crc32c %08x, content gives %08x: %w", *f.ManifestCRC32C, sum, ErrCorrupt)
	}
	if err := f.Manifest.validate(); err != nil {
		return Manifest{}, fmt.Errorf("%w: %w", err, ErrCorrupt)
	}
	return f.Manifest, nil
}

// compactJSON returns raw without insignificant white space; nil and
// invalid JSON come back unchanged.
func compactJSON(raw json.RawMessage) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return b.Bytes()
}

// SameModel reports whether two model specs are equal as compact JSON.
func SameModel(a, b json.RawMessage) bool { return bytes.Equal(compactJSON(a), compactJSON(b)) }

// checkModel returns an ErrMismatch error if want is set and m's ModelSpec
// differs from it.
func checkModel(m *Manifest, want json.RawMessage) error {
	if want == nil || SameModel(m.ModelSpec, want) {
		return nil
	}
	return fmt.Errorf("model_spec %s, expected %s: %w", clip(compactJSON(m.ModelSpec)), clip(compactJSON(want)), ErrMismatch)
}

// clip shortens b for an error message.
func clip(b []byte) string {
	const n = 120
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
