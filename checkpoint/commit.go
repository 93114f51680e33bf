package checkpoint

import (
	"errors"
	"fmt"
	"io"
)

// Commit makes m's checkpoint the latest, durably. m lists the shards that
// WriteShard stored for m.Step (their ShardInfo); a zero FormatVersion is
// set to the current one. The commit protocol:
//
//  1. check m (Validate, the expected ModelSpec and job hash: Options,
//     ExpectModel, ExpectJob; m.Step newer than LATEST's);
//  2. read every shard back: present, size, header and CRC32C as in m;
//  3. write MANIFEST.json atomically (temporary file, fsync, rename,
//     fsync of the step directory);
//  4. write LATEST the same way (fsync of the store directory): this
//     rename is the commit point;
//  5. prune per Options.Retention.
//
// A crash or error before step 4 completes leaves the previous checkpoint
// the latest; Commit may then be retried. An error wrapping ErrPrune means the commit succeeded and only
// step 5 failed.
func (s *Store) Commit(m Manifest) error {
	m = withVersion(m)
	if err := m.Validate(); err != nil {
		return fmt.Errorf("checkpoint: commit: %w", err)
	}
	if err := checkModel(&m, s.expectedModel()); err != nil {
		return fmt.Errorf("checkpoint: commit step %d: %w", m.Step, err)
	}
	if err := s.checkJob(&m); err != nil {
		return fmt.Errorf("checkpoint: commit step %d: %w", m.Step, err)
	}
	data, err := EncodeManifest(m)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	latest, err := s.readLatest()
	switch {
	case err == nil && m.Step == latest:
		return fmt.Errorf("checkpoint: commit step %d: %w", m.Step, ErrExists)
	case err == nil && m.Step < latest:
		return fmt.Errorf("checkpoint: commit step %d: LATEST is step %d (Rewind first): %w", m.Step, latest, ErrInvalid)
	case err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrCorrupt):
		return fmt.Errorf("checkpoint: commit step %d: %w", m.Step, err)
	}
	var bad []error
	for _, info := range m.Shards {
		if err := s.scanShard(&m, info, nil); err != nil {
			bad = append(bad, err)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("checkpoint: commit step %d: %w", m.Step, errors.Join(bad...))
	}
	mpath := s.ManifestPath(m.Step)
	if err := s.writeAtomic(mpath, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
		return fmt.Errorf("checkpoint: commit step %d: %w", m.Step, fileErr(mpath, err))
	}
	if err := s.writeLatest(m.Step); err != nil {
		// The manifest stays: a step newer than LATEST is not committed
		// (Latest skips it, a retried Commit replaces it, Rewind removes
		// it). If the rename succeeded but the fsync failed, the outcome
		// is unknown until the next Latest.
		return fmt.Errorf("checkpoint: commit step %d: %w", m.Step, fileErr(s.latestPath(), err))
	}
	if _, err := s.pruneLocked(m.Step); err != nil {
		return fmt.Errorf("checkpoint: step %d committed, then: %w: %w", m.Step, err, ErrPrune)
	}
	return nil
}
