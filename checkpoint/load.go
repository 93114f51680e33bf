package checkpoint

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"

	"github.com/ringtrain/ringtrain/internal/wire"
)

// Load reads and checks step's manifest (format, self-checksum,
// consistency, the expected ModelSpec) and checks that every shard file is
// present with its recorded size. It reads no tensor data: Verify does.
// Errors name the file at fault (see BadFiles) and wrap ErrNotFound,
// ErrCorrupt, ErrMismatch or ErrVersion.
func (s *Store) Load(step int64) (Manifest, error) {
	m, err := s.loadManifest(step)
	if err == nil {
		err = s.statShards(&m)
	}
	if err != nil {
		return Manifest{}, fmt.Errorf("checkpoint: load step %d: %w", step, err)
	}
	return m, nil
}

// Verify checks step completely: Load's checks, then every shard read in
// full against its CRC32C, size and header. The error names every bad file.
func (s *Store) Verify(step int64) error {
	m, err := s.loadManifest(step)
	if err == nil {
		err = s.verifyShards(&m)
	}
	if err != nil {
		return fmt.Errorf("checkpoint: verify step %d: %w", step, err)
	}
	return nil
}

// loadManifest reads, decodes and checks step's manifest.
func (s *Store) loadManifest(step int64) (Manifest, error) {
	if step < 0 {
		return Manifest{}, fmt.Errorf("step %d: %w", step, ErrInvalid)
	}
	path := s.ManifestPath(step)
	b, err := s.readBounded(path, MaxManifestBytes)
	if err != nil {
		return Manifest{}, fileErr(path, err)
	}
	m, err := decodeManifest(b)
	if err != nil {
		return Manifest{}, fileErr(path, fmt.Errorf("manifest: %w", err))
	}
	if m.Step != step {
		return Manifest{}, fileErr(path, fmt.Errorf("manifest says step %d: %w", m.Step, ErrCorrupt))
	}
	if err := checkModel(&m, s.expectedModel()); err != nil {
		return Manifest{}, fileErr(path, err)
	}
	return m, nil
}

// statShards checks every shard's presence and size.
func (s *Store) statShards(m *Manifest) error {
	var bad []error
	for _, info := range m.Shards {
		path := s.ShardPath(m.Step, info.Rank)
		fi, err := s.fs.Stat(path)
		switch {
		case err != nil:
			bad = append(bad, fileErr(path, notFound(err)))
		case fi.Size() != info.Size:
			bad = append(bad, fileErr(path, fmt.Errorf("size %d, manifest says %d: %w", fi.Size(), info.Size, ErrCorrupt)))
		}
	}
	return errors.Join(bad...)
}

// verifyShards reads every shard in full.
func (s *Store) verifyShards(m *Manifest) error {
	var bad []error
	for _, info := range m.Shards {
		if err := s.scanShard(m, info, nil); err != nil {
			bad = append(bad, err)
		}
	}
	return errors.Join(bad...)
}

// scanShard reads the shard file of info in full and checks it against m
// (size, header: step, range and state names; CRC32C), handing tensor
// elements to sink on the way (nil: check only). On error the elements
// already handed over must be discarded. Errors carry the file's path.
func (s *Store) scanShard(m *Manifest, info ShardInfo, sink tensorSink) error {
	path := s.ShardPath(m.Step, info.Rank)
	err := s.scanShardFile(path, m, info, sink)
	return fileErr(path, err)
}

func (s *Store) scanShardFile(path string, m *Manifest, info ShardInfo, sink tensorSink) error {
	fi, err := s.fs.Stat(path)
	if err != nil {
		return notFound(err)
	}
	if fi.Size() != info.Size {
		return fmt.Errorf("size %d, manifest says %d: %w", fi.Size(), info.Size, ErrCorrupt)
	}
	f, err := s.fs.Open(path)
	if err != nil {
		return notFound(err)
	}
	defer f.Close()
	crc := wire.NewCRC32C()
	r := io.TeeReader(io.LimitReader(f, info.Size), crc)
	h, err := readShardHeader(r, info.Size)
	if err != nil {
		return err
	}
	if err := checkShardHeader(h, m, info); err != nil {
		return err
	}
	if sink == nil {
		sink = func(stTensor) ([]float32, int) { return nil, 0 }
	}
	if err := readTensors(r, h.st.Tensors, sink); err != nil {
		return err
	}
	if got := crc.Sum32(); got != info.CRC32C {
		return fmt.Errorf("crc32c %08x, manifest says %08x: %w", got, info.CRC32C, ErrCorrupt)
	}
	return nil
}

// checkShardHeader compares a shard's own header with its manifest entry.
func checkShardHeader(h shardHeader, m *Manifest, info ShardInfo) error {
	if h.step != m.Step || h.lo != info.Lo || h.hi != info.Hi {
		return fmt.Errorf("header says step %d range [%d,%d), manifest says step %d range [%d,%d): %w",
			h.step, h.lo, h.hi, m.Step, info.Lo, info.Hi, ErrCorrupt)
	}
	want := slices.Clone(m.StateNames)
	sort.Strings(want)
	if !slices.Equal(h.states, want) {
		return fmt.Errorf("header has optimizer states %q, manifest says %q: %w", h.states, want, ErrCorrupt)
	}
	return nil
}

// BadFiles returns the paths named by the FileErrors inside err (through
// wrapping and errors.Join), in order, without repeats.
func BadFiles(err error) []string {
	var out []string
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if fe, ok := e.(*FileError); ok && !slices.Contains(out, fe.Path) {
			out = append(out, fe.Path)
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}
