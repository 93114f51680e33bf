package checkpoint

import "errors"

// Sentinel errors callers branch on. Every error the package returns wraps
// one of them (with %w) together with the file or step at fault; errors
// about one file also carry a *FileError.
var (
	// ErrNotFound: a step, manifest, shard or LATEST file does not exist,
	// or the store holds no good checkpoint.
	ErrNotFound = errors.New("checkpoint: not found")
	// ErrCorrupt: a file exists but its bytes are wrong: checksum or size
	// mismatch, truncation, a malformed safetensors header or manifest, a
	// shard whose header disagrees with its manifest.
	ErrCorrupt = errors.New("checkpoint: corrupt")
	// ErrMismatch: the checkpoint is intact but is not what the caller
	// expects (a manifest of another model, an optimizer state it lacks).
	ErrMismatch = errors.New("checkpoint: mismatch")
	// ErrVersion: a manifest of a format version this build cannot read.
	ErrVersion = errors.New("checkpoint: unsupported format version")
	// ErrExists: the step is already committed (WriteShard, Commit).
	ErrExists = errors.New("checkpoint: already committed")
	// ErrInvalid: the caller passed something invalid (a manifest that
	// fails Validate, a range outside the model, bad options).
	ErrInvalid = errors.New("checkpoint: invalid argument")
	// ErrPrune: Commit committed the checkpoint durably but could not
	// remove old ones; the new checkpoint IS committed.
	ErrPrune = errors.New("checkpoint: prune failed")

	// ErrCrashed: a MemFS operation after a simulated crash.
	ErrCrashed = errors.New("checkpoint: memfs: crashed")
	// ErrInjected: a MemFS operation failed by fault injection.
	ErrInjected = errors.New("checkpoint: memfs: injected fault")
)

// FileError names the file an error is about. Use errors.As to get the
// path; errors.Is sees through it to the sentinel.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return e.Path + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *FileError) Unwrap() error { return e.Err }

// fileErr wraps err with the path it is about.
func fileErr(path string, err error) error {
	if err == nil {
		return nil
	}
	return &FileError{Path: path, Err: err}
}
