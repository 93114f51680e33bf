package main

import (
	"fmt"
	"io"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/job"
)

// openCheckpoints opens (creating) the checkpoint store of a run. With
// resume it also picks the checkpoint to restore: LATEST, or the newest
// good older one with a warning per checkpoint passed over (strict: an
// error instead); newer leftovers are removed so new commits follow it.
func openCheckpoints(dir string, spec job.Spec, resume, strict bool, warn io.Writer) (*checkpoint.Store, int64, error) {
	opts := checkpoint.DefaultOptions()
	opts.Retention = checkpoint.Retention{Keep: spec.Checkpoint.Keep, KeepEvery: int64(spec.Checkpoint.KeepEvery)}
	opts.Strict = strict
	store, err := checkpoint.Open(checkpoint.OSFS{}, dir, opts)
	if err != nil {
		return nil, 0, err
	}
	if !resume {
		entries, err := store.List()
		if err != nil {
			return nil, 0, err
		}
		for _, e := range entries {
			if e.State == checkpoint.Committed {
				return nil, 0, fmt.Errorf("%s already holds checkpoints (step %d): continue that run with --resume, or use another run directory", dir, e.Step)
			}
		}
		return store, 0, nil
	}
	m, warnings, err := store.Latest()
	for _, w := range warnings {
		fmt.Fprintf(warn, "warning: resume: passed over a checkpoint: %v\n", w)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("resume from %s: %w", dir, err)
	}
	if err := store.Rewind(m.Step); err != nil {
		return nil, 0, fmt.Errorf("resume from %s: %w", dir, err)
	}
	fmt.Fprintf(warn, "resuming from checkpoint step %d (epoch %d, written by %d workers)\n", m.Step, m.Epoch, m.WorldSize)
	return store, m.Step, nil
}
