package checkpoint

import (
	"fmt"
	"path/filepath"
)

// Prune applies Options.Retention to the store and returns the steps it
// removed. The newest good checkpoint (the one Latest chooses) is always
// kept, and so is every step after it (bad checkpoints are left for
// inspection; Rewind removes them). If there is no good checkpoint, Prune
// removes nothing and returns Latest's error.
func (s *Store) Prune() ([]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, _, err := s.latestLocked()
	if err != nil {
		return nil, fmt.Errorf("checkpoint: prune: %w", err)
	}
	removed, err := s.pruneLocked(m.Step)
	if err != nil {
		return removed, fmt.Errorf("checkpoint: prune: %w", err)
	}
	return removed, nil
}

// keepSet returns the steps retention keeps among committed (the steps up
// to and including newestGood that have a manifest, increasing).
func (r Retention) keepSet(committed []int64, newestGood int64) map[int64]bool {
	keep := map[int64]bool{newestGood: true}
	for i := max(0, len(committed)-r.Keep); i < len(committed); i++ {
		keep[committed[i]] = true
	}
	if r.KeepEvery > 0 {
		for _, st := range committed {
			if st%r.KeepEvery == 0 {
				keep[st] = true
			}
		}
	}
	return keep
}

// pruneLocked removes, among the steps before newestGood, the checkpoints
// retention does not keep and every directory without a manifest (an
// unfinished upload), plus stray temporary files at the store's root.
func (s *Store) pruneLocked(newestGood int64) ([]int64, error) {
	dirs, err := s.listDirs()
	if err != nil {
		return nil, err
	}
	var committed []int64
	for _, d := range dirs {
		if d.hasManifest && d.step <= newestGood {
			committed = append(committed, d.step)
		}
	}
	keep := s.opts.Retention.keepSet(committed, newestGood)
	var removed []int64
	for _, d := range dirs {
		if d.step >= newestGood || (d.hasManifest && keep[d.step]) {
			continue
		}
		if err := s.removeStepLocked(d.step); err != nil {
			return removed, fmt.Errorf("removing step %d: %w", d.step, err)
		}
		removed = append(removed, d.step)
	}
	names, err := s.fs.ReadDir(s.dir)
	if err != nil {
		return removed, err
	}
	stray := false
	for _, name := range names {
		if isTemp(name) {
			if err := s.fs.RemoveAll(filepath.Join(s.dir, name)); err != nil {
				return removed, err
			}
			stray = true
		}
	}
	if len(removed) > 0 || stray {
		if err := s.fs.SyncDir(s.dir); err != nil {
			return removed, err
		}
	}
	return removed, nil
}
