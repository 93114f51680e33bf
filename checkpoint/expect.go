package checkpoint

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
)

// expectation is what a store holds its manifests to once the caller knows
// it: the model (Options.ModelSpec, or ExpectModel) and the job that
// commits (ExpectJob). Each is pinned once and never changes.
type expectation struct {
	mu    sync.Mutex // guards model and job
	model json.RawMessage
	job   string
}

// ExpectModel pins the model spec the store expects, as Options.ModelSpec
// does at Open: from now on Load, Latest, Verify and Commit reject a
// manifest of another model spec (compared as compact JSON) with
// ErrMismatch. It is for a caller that learns the model after Open (the
// coordinator, which never reads the training data, learns it from the
// checkpoint it restores or from its first commit). Pinning the spec the
// store already expects is a no-op; another one is refused with
// ErrMismatch, and a spec that is not JSON with ErrInvalid.
func (s *Store) ExpectModel(spec json.RawMessage) error {
	if len(spec) == 0 || !json.Valid(spec) {
		return fmt.Errorf("checkpoint: expect model: model_spec %q is not JSON: %w", clip(spec), ErrInvalid)
	}
	s.expect.mu.Lock()
	defer s.expect.mu.Unlock()
	if s.expect.model != nil {
		if !SameModel(s.expect.model, spec) {
			return fmt.Errorf("checkpoint: expect model: the store holds model_spec %s, not %s: %w",
				clip(compactJSON(s.expect.model)), clip(compactJSON(spec)), ErrMismatch)
		}
		return nil
	}
	s.expect.model = slices.Clone(spec)
	return nil
}

// ExpectJob pins the job whose checkpoints the store commits: from now on
// Commit rejects a manifest whose JobHash is another (ErrMismatch). Load and
// Latest do not look at it (a run may resume with a changed job). Pinning
// the same hash again is a no-op; another one is refused with ErrMismatch,
// an empty one with ErrInvalid.
func (s *Store) ExpectJob(hash string) error {
	if hash == "" {
		return fmt.Errorf("checkpoint: expect job: empty job hash: %w", ErrInvalid)
	}
	s.expect.mu.Lock()
	defer s.expect.mu.Unlock()
	if s.expect.job != "" && s.expect.job != hash {
		return fmt.Errorf("checkpoint: expect job: the store commits job %.12s, not %.12s: %w", s.expect.job, hash, ErrMismatch)
	}
	s.expect.job = hash
	return nil
}

// CheckModel returns the ErrMismatch error that Commit would return for a
// manifest of model spec (nil when the store expects no model or this one),
// so a caller can refuse a checkpoint before writing its shards.
func (s *Store) CheckModel(spec json.RawMessage) error {
	return checkModel(&Manifest{ModelSpec: spec}, s.expectedModel())
}

// ExpectedModel is the model spec the store expects (Options.ModelSpec or
// ExpectModel), nil while it accepts any.
func (s *Store) ExpectedModel() json.RawMessage { return slices.Clone(s.expectedModel()) }

// expectedModel is the pinned model spec (nil: any).
func (s *Store) expectedModel() json.RawMessage {
	s.expect.mu.Lock()
	defer s.expect.mu.Unlock()
	return s.expect.model
}

// checkJob returns an ErrMismatch error if a job is pinned and m is
// another job's.
func (s *Store) checkJob(m *Manifest) error {
	s.expect.mu.Lock()
	defer s.expect.mu.Unlock()
	if s.expect.job == "" || m.JobHash == s.expect.job {
		return nil
	}
	return fmt.Errorf("job_hash %.12s, the store commits job %.12s: %w", m.JobHash, s.expect.job, ErrMismatch)
}
