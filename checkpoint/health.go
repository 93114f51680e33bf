package checkpoint

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
)

// Strays returns the paths of the entries in the store directory that are
// named like a step directory but are not directories (a file put there by
// hand). List, Latest, Rewind and Prune ignore them and WriteShard refuses
// their step; tools should warn about them.
func (s *Store) Strays() ([]string, error) {
	names, err := s.fs.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: strays: %w", err)
	}
	var out []string
	for _, name := range names {
		if _, ok := ParseStepDirName(name); !ok {
			continue
		}
		path := filepath.Join(s.dir, name)
		fi, err := s.fs.Stat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("checkpoint: strays: %w", err)
		case !fi.IsDir():
			out = append(out, path)
		}
	}
	return out, nil
}

// CheckLatest checks the LATEST pointer: it must name a step whose
// checkpoint loads (Load's checks: an intact manifest of the expected
// model, every shard present with its size; Verify reads the data). A
// missing LATEST is fine only while the store holds no manifest at all.
// This is what Options.Strict makes Latest insist on. The error names LATEST
// and what is wrong with it, and wraps ErrNotFound, ErrCorrupt or Load's
// sentinel.
func (s *Store) CheckLatest() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	latest, err := s.readLatest()
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			dirs, derr := s.listDirs()
			if derr != nil {
				return fmt.Errorf("checkpoint: check LATEST: %w", derr)
			}
			if !anyManifest(dirs) {
				return nil
			}
			return fmt.Errorf("checkpoint: LATEST is missing but the store holds checkpoints: %w", err)
		}
		return fmt.Errorf("checkpoint: LATEST: %w", err)
	}
	m, err := s.loadManifest(latest)
	if err == nil {
		err = s.statShards(&m)
	}
	if err != nil {
		return fmt.Errorf("checkpoint: LATEST names step %d, which does not load: %w", latest, err)
	}
	return nil
}

// Discard removes the directory of a step whose checkpoint failed: the
// shards written so far and the manifest of an unfinished commit. It
// refuses, with ErrExists, the step LATEST names and any step with a
// manifest that may be committed (at or before LATEST's step, or any when
// LATEST is unreadable), so LATEST always keeps naming a complete
// checkpoint. An entry that is not a directory (see Strays) is left alone
// with ErrInvalid; a missing directory is not an error.
func (s *Store) Discard(step int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	dir := s.StepDir(step)
	fi, err := s.fs.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("checkpoint: discard step %d: %w", step, err)
	case !fi.IsDir():
		return fmt.Errorf("checkpoint: discard step %d: %s is not a directory; left alone: %w", step, dir, ErrInvalid)
	}
	latest, lerr := s.readLatest()
	if lerr != nil && !errors.Is(lerr, ErrNotFound) && !errors.Is(lerr, ErrCorrupt) {
		return fmt.Errorf("checkpoint: discard step %d: %w", step, lerr)
	}
	if lerr == nil && step == latest {
		return fmt.Errorf("checkpoint: discard step %d: LATEST names it: %w", step, ErrExists)
	}
	has, err := s.exists(s.ManifestPath(step))
	if err != nil {
		return fmt.Errorf("checkpoint: discard step %d: %w", step, err)
	}
	if has && (lerr != nil || step < latest) {
		return fmt.Errorf("checkpoint: discard step %d: it has a manifest and may be committed: %w", step, ErrExists)
	}
	if err := s.removeStepLocked(step); err != nil {
		return fmt.Errorf("checkpoint: discard step %d: %w", step, fileErr(dir, err))
	}
	if err := s.fs.SyncDir(s.dir); err != nil {
		return fmt.Errorf("checkpoint: discard step %d: %w", step, fileErr(s.dir, err))
	}
	return nil
}
