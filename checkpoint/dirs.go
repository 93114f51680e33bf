package checkpoint

import (
	"cmp"
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
)

// stepDir is one step directory found in the store.
type stepDir struct {
	step        int64
	hasManifest bool
}

// listDirs returns the store's step directories in increasing step order.
// Other names are ignored, and so are entries named like a step directory
// that are not directories (Strays lists those).
func (s *Store) listDirs() ([]stepDir, error) {
	names, err := s.fs.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var out []stepDir
	for _, name := range names {
		step, ok := ParseStepDirName(name)
		if !ok {
			continue
		}
		if fi, err := s.fs.Stat(filepath.Join(s.dir, name)); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed since ReadDir
			}
			return nil, err
		} else if !fi.IsDir() {
			continue
		}
		has, err := s.exists(filepath.Join(s.dir, name, ManifestName))
		if err != nil {
			return nil, err
		}
		out = append(out, stepDir{step: step, hasManifest: has})
	}
	// ReadDir sorts by name and the names have a fixed width, but a step
	// of 10^12 or more is wider: sort by number.
	slices.SortFunc(out, func(a, b stepDir) int { return cmp.Compare(a.step, b.step) })
	return out, nil
}

// removeStepLocked deletes a step directory: the manifest first (durably,
// so a crash midway never leaves a manifest without its shards), then the
// rest. The caller syncs the store directory afterwards.
func (s *Store) removeStepLocked(step int64) error {
	mpath := s.ManifestPath(step)
	err := s.fs.Remove(mpath)
	switch {
	case err == nil:
		if err := s.fs.SyncDir(s.StepDir(step)); err != nil {
			return err
		}
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	return s.fs.RemoveAll(s.StepDir(step))
}
