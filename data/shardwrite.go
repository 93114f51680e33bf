package data

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
)

// ShardWriter writes one split's samples into shard files of about
// ShardBytes each (at least one sample per shard), each written to a
// temporary file, fsynced and renamed into place, so a crash never leaves
// a partial shard under a manifest's name.
type ShardWriter struct {
	dir, prefix string
	dtype, dim  int
	shardBytes  int64
	buf         []byte
	count       int
	entries     []ShardEntry
	min, max    float64
}

// NewShardWriter writes shards named prefix-00000.rts, ... into dir.
func NewShardWriter(dir, prefix string, dtype, dim int, shardBytes int64) (*ShardWriter, error) {
	h := ShardHeader{DType: dtype, Dim: dim}
	if err := h.check(); err != nil {
		return nil, fmt.Errorf("data: shard writer: %w", err)
	}
	if shardBytes < ShardHeaderSize+int64(h.RecordSize()) {
		shardBytes = ShardHeaderSize + int64(h.RecordSize())
	}
	return &ShardWriter{dir: dir, prefix: prefix, dtype: dtype, dim: dim, shardBytes: shardBytes, min: math.Inf(1), max: math.Inf(-1)}, nil
}

// Add appends one sample (raw values, len dim).
func (w *ShardWriter) Add(label int32, x []float32) error {
	if len(x) != w.dim {
		return fmt.Errorf("data: shard writer: sample of %d values: want %d", len(x), w.dim)
	}
	if label < 0 {
		return fmt.Errorf("data: shard writer: label %d: want >= 0", label)
	}
	if w.count == 0 {
		w.buf = AppendShardHeader(w.buf[:0], ShardHeader{DType: w.dtype, Dim: w.dim})
	}
	var err error
	if w.buf, err = AppendRecord(w.buf, w.dtype, label, x); err != nil {
		return fmt.Errorf("data: shard writer: %w", err)
	}
	for _, v := range x {
		w.min, w.max = min(w.min, float64(v)), max(w.max, float64(v))
	}
	w.count++
	if int64(len(w.buf))+int64(ShardHeader{DType: w.dtype, Dim: w.dim}.RecordSize()) > w.shardBytes {
		return w.flush()
	}
	return nil
}

// flush writes the shard in the buffer.
func (w *ShardWriter) flush() error {
	if w.count == 0 {
		return nil
	}
	final := AppendShardHeader(nil, ShardHeader{DType: w.dtype, Dim: w.dim, Count: w.count})
	copy(w.buf, final)
	name := fmt.Sprintf("%s-%05d.rts", w.prefix, len(w.entries))
	if err := WriteFileAtomic(filepath.Join(w.dir, name), w.buf, 0o600); err != nil {
		return fmt.Errorf("data: shard writer: %w", err)
	}
	w.entries = append(w.entries, ShardEntry{File: name, Samples: w.count, Bytes: int64(len(w.buf)),
		CRC32C: fmt.Sprintf("%08x", crc32.Checksum(w.buf, castagnoli))})
	w.count = 0
	return nil
}

// Close writes the last shard and returns the split's entries and the
// raw values' range.
func (w *ShardWriter) Close() (entries []ShardEntry, lo, hi float64, err error) {
	if err := w.flush(); err != nil {
		return nil, 0, 0, err
	}
	return w.entries, w.min, w.max, nil
}

// WriteManifest validates m and writes it as dir's shards.json
// (atomically, after the shards).
func WriteManifest(dir string, m *ShardManifest) error {
	path := filepath.Join(dir, ManifestName)
	if err := m.Validate(path); err != nil {
		return fmt.Errorf("data: shards: %w", err)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("data: shards: %w", err)
	}
	return WriteFileAtomic(path, append(b, '\n'), 0o600)
}

// WriteFileAtomic writes b to path with mode perm through a temporary file
// in the same directory, fsynced, renamed, and the directory fsynced: a
// reader sees the old file or the whole new one, never a part.
func WriteFileAtomic(path string, b []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("write %s: sync %s: %w", path, dir, err)
	}
	return nil
}
