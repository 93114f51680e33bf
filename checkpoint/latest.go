package checkpoint

import (
	"errors"
	"fmt"
)

// Latest returns the manifest of the checkpoint to restore: the one LATEST
// names, verified in full (Verify). If that one is missing or bad (or
// LATEST itself is), Latest falls back to the newest older checkpoint that
// verifies and returns, in warnings, why each newer one was passed over
// (each error names its file). With Options.Strict it refuses instead.
// Steps newer than LATEST's are never chosen: their commit did not finish.
// An empty store gives ErrNotFound.
func (s *Store) Latest() (m Manifest, warnings []error, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latestLocked()
}

func (s *Store) latestLocked() (Manifest, []error, error) {
	dirs, err := s.listDirs()
	if err != nil {
		return Manifest{}, nil, fmt.Errorf("checkpoint: latest: %w", err)
	}
	latest, lerr := s.readLatest()
	var warnings []error
	switch {
	case lerr == nil:
		m, err := s.loadVerified(latest)
		if err == nil {
			return m, nil, nil
		}
		warnings = append(warnings, fmt.Errorf("LATEST names step %d: %w", latest, err))
	case errors.Is(lerr, ErrNotFound) && !anyManifest(dirs):
		return Manifest{}, nil, fmt.Errorf("checkpoint: latest: no checkpoint in %s: %w", s.dir, ErrNotFound)
	default:
		warnings = append(warnings, lerr)
	}
	if s.opts.Strict {
		return Manifest{}, nil, fmt.Errorf("checkpoint: latest (strict): %w", errors.Join(warnings...))
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		d := dirs[i]
		if !d.hasManifest || (lerr == nil && d.step >= latest) {
			continue
		}
		m, err := s.loadVerified(d.step)
		if err == nil {
			return m, warnings, nil
		}
		warnings = append(warnings, fmt.Errorf("step %d: %w", d.step, err))
	}
	return Manifest{}, nil, fmt.Errorf("checkpoint: latest: no good checkpoint in %s: %w",
		s.dir, errors.Join(append([]error{ErrNotFound}, warnings...)...))
}

// loadVerified loads step and verifies every shard.
func (s *Store) loadVerified(step int64) (Manifest, error) {
	m, err := s.loadManifest(step)
	if err != nil {
		return Manifest{}, err
	}
	if err := s.verifyShards(&m); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

func anyManifest(dirs []stepDir) bool {
	for _, d := range dirs {
		if d.hasManifest {
			return true
		}
	}
	return false
}

// Rewind makes step, a checkpoint that loads (normally the one Latest just
// chose), the latest and durably removes every step directory after it:
// checkpoints that were passed over, commits that never finished, partial
// shard uploads. Call it after restoring and before writing new shards,
// while no WriteShard is in flight. It does nothing when there is nothing
// to change.
func (s *Store) Rewind(step int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.loadManifest(step)
	if err == nil {
		err = s.statShards(&m)
	}
	if err != nil {
		return fmt.Errorf("checkpoint: rewind to step %d: %w", step, err)
	}
	if latest, err := s.readLatest(); err != nil || latest != step {
		if err := s.writeLatest(step); err != nil {
			return fmt.Errorf("checkpoint: rewind to step %d: %w", step, fileErr(s.latestPath(), err))
		}
	}
	dirs, err := s.listDirs()
	if err != nil {
		return fmt.Errorf("checkpoint: rewind to step %d: %w", step, err)
	}
	removed := false
	for _, d := range dirs {
		if d.step <= step {
			continue
		}
		if err := s.removeStepLocked(d.step); err != nil {
			return fmt.Errorf("checkpoint: rewind to step %d: removing step %d: %w", step, d.step, err)
		}
		removed = true
	}
	if removed {
		if err := s.fs.SyncDir(s.dir); err != nil {
			return fmt.Errorf("checkpoint: rewind to step %d: %w", step, err)
		}
	}
	return nil
}
