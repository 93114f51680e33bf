package checkpoint

import (
	"fmt"
	"io"
	"strings"
)

// maxLatestBytes bounds the LATEST file.
const maxLatestBytes = 256

// readLatest returns the step LATEST names. A missing file is ErrNotFound,
// garbage is ErrCorrupt; both carry the path.
func (s *Store) readLatest() (int64, error) {
	path := s.latestPath()
	b, err := s.readBounded(path, maxLatestBytes)
	if err != nil {
		return 0, fileErr(path, err)
	}
	name := strings.TrimSpace(string(b))
	step, ok := ParseStepDirName(name)
	if !ok {
		return 0, fileErr(path, fmt.Errorf("content %q is not a step directory name: %w", clip([]byte(name)), ErrCorrupt))
	}
	return step, nil
}

// writeLatest durably points LATEST at step.
func (s *Store) writeLatest(step int64) error {
	return s.writeAtomic(s.latestPath(), func(w io.Writer) error {
		_, err := io.WriteString(w, StepDirName(step)+"\n")
		return err
	})
}
