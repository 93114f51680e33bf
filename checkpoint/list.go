package checkpoint

import (
	"errors"
	"fmt"
)

// EntryState says how far a step directory got through the commit protocol.
type EntryState int

const (
	// Partial: no manifest; shards being uploaded, left by a crash, or a
	// checkpoint being deleted. Never restored from.
	Partial EntryState = iota
	// Uncommitted: a manifest, but the step is newer than LATEST's: its
	// commit did not finish. Never restored from while LATEST is readable.
	Uncommitted
	// Committed: a manifest at or before LATEST's step.
	Committed
)

func (e EntryState) String() string {
	switch e {
	case Partial:
		return "partial"
	case Uncommitted:
		return "uncommitted"
	case Committed:
		return "committed"
	}
	return fmt.Sprintf("EntryState(%d)", int(e))
}

// Entry describes one step directory.
type Entry struct {
	Step   int64
	State  EntryState
	Latest bool // LATEST names this step
	// Manifest is nil when the directory has no readable manifest.
	Manifest *Manifest
	// Err is why the checkpoint is not healthy (Load's checks: manifest
	// intact, the expected model, every shard present with its size), nil
	// if it is, and always nil for Partial. Verify reads the data.
	Err error
}

// List describes every step directory, oldest first. It reads manifests
// and file sizes, no tensor data.
func (s *Store) List() ([]Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dirs, err := s.listDirs()
	if err != nil {
		return nil, fmt.Errorf("checkpoint: list: %w", err)
	}
	latest, lerr := s.readLatest()
	if lerr != nil && !errors.Is(lerr, ErrNotFound) && !errors.Is(lerr, ErrCorrupt) {
		return nil, fmt.Errorf("checkpoint: list: %w", lerr)
	}
	out := make([]Entry, 0, len(dirs))
	for _, d := range dirs {
		e := Entry{Step: d.step, Latest: lerr == nil && d.step == latest}
		if d.hasManifest {
			e.State = Committed
			if lerr == nil && d.step > latest {
				e.State = Uncommitted
			}
			m, err := s.loadManifest(d.step)
			if err == nil {
				e.Manifest = &m
				err = s.statShards(&m)
			}
			e.Err = err
		}
		out = append(out, e)
	}
	return out, nil
}
