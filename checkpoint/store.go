package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// Retention says which committed checkpoints Commit and Prune keep. The
// newest good checkpoint is always kept.
type Retention struct {
	// Keep is how many of the newest committed checkpoints to keep.
	// Default (0): 3.
	Keep int
	// KeepEvery, when > 0, also keeps every checkpoint whose step is a
	// multiple of it (for example 10000 to keep a long-term series).
	// Default 0: none.
	KeepEvery int64
}

// Options configure a Store.
type Options struct {
	// Retention applies after every Commit and in Prune.
	Retention Retention
	// Strict makes Latest return an error when LATEST's checkpoint is
	// missing or bad, instead of falling back to the newest good older
	// one. Default false.
	Strict bool
	// ModelSpec, when not nil, is the model the caller expects: Load,
	// Latest, Verify and Commit reject a manifest whose ModelSpec differs
	// (as compact JSON) with ErrMismatch. Default nil: accept any, until
	// Store.ExpectModel pins one.
	ModelSpec json.RawMessage
}

// DefaultOptions returns the defaults: keep 3, fall back, any model.
func DefaultOptions() Options { return Options{Retention: Retention{Keep: 3}} }

// Validate checks o; zero fields mean their defaults.
func (o Options) Validate() error {
	if o.Retention.Keep < 0 {
		return fmt.Errorf("checkpoint: Retention.Keep %d: want >= 0: %w", o.Retention.Keep, ErrInvalid)
	}
	if o.Retention.KeepEvery < 0 {
		return fmt.Errorf("checkpoint: Retention.KeepEvery %d: want >= 0: %w", o.Retention.KeepEvery, ErrInvalid)
	}
	if o.ModelSpec != nil && !json.Valid(o.ModelSpec) {
		return fmt.Errorf("checkpoint: ModelSpec is not valid JSON: %w", ErrInvalid)
	}
	return nil
}

// Store is a directory of checkpoints:
//
//	DIR/LATEST                                  "step-000000001200\n"
//	DIR/step-000000001200/MANIFEST.json
//	DIR/step-000000001200/shard-00000.safetensors ... shard-<W-1>
//
// Its methods are safe for concurrent use: WriteShard calls for different
// ranks run in parallel; Commit, Rewind, Prune, Latest and List are
// serialized with each other. A directory must have one writing Store at a
// time (one coordinator).
type Store struct {
	fs   FS
	dir  string
	opts Options
	seq  atomic.Uint64 // temporary file names
	mu   sync.Mutex    // serializes commit-state changes and their readers
	// expect is the model and job the manifests must match (expect.go).
	expect expectation
}

// Open opens the store in dir, creating the directory (durably) if it does
// not exist.
func Open(fsys FS, dir string, opts Options) (*Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Retention.Keep == 0 {
		opts.Retention.Keep = DefaultOptions().Retention.Keep
	}
	dir = filepath.Clean(dir)
	fi, err := fsys.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := mkdirAllDurable(fsys, dir); err != nil {
			return nil, fmt.Errorf("checkpoint: open: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("checkpoint: open: %w", err)
	case !fi.IsDir():
		return nil, fmt.Errorf("checkpoint: open: %s is not a directory: %w", dir, ErrInvalid)
	}
	s := &Store{fs: fsys, dir: dir, opts: opts}
	s.expect.model = opts.ModelSpec
	return s, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// StepDir returns the directory of step.
func (s *Store) StepDir(step int64) string { return filepath.Join(s.dir, StepDirName(step)) }

// ManifestPath returns the manifest file of step.
func (s *Store) ManifestPath(step int64) string { return filepath.Join(s.StepDir(step), ManifestName) }

// ShardPath returns the shard file of rank at step.
func (s *Store) ShardPath(step int64, rank int) string {
	return filepath.Join(s.StepDir(step), ShardFileName(rank))
}

func (s *Store) latestPath() string { return filepath.Join(s.dir, LatestName) }

// mkdirAllDurable creates dir and its missing parents, then syncs the
// parent of every directory it created.
func mkdirAllDurable(fsys FS, dir string) error {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := fsys.Stat(d); err == nil || !errors.Is(err, fs.ErrNotExist) {
			break
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := fsys.MkdirAll(dir); err != nil {
		return err
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if parent := filepath.Dir(missing[i]); parent != missing[i] {
			if err := fsys.SyncDir(parent); err != nil {
				return err
			}
		}
	}
	return nil
}
