package main

import (
	"fmt"
	"io"
	"slices"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/job"
)

// resumeMode: whether a run continues from its checkpoints.
type resumeMode int

const (
	resumeNo   resumeMode = iota // a fresh run; refused if checkpoints exist
	resumeYes                    // continue; an error if there is none
	resumeAuto                   // continue if there is any, else start afresh
)

// openCheckpoints opens (creating) the checkpoint store of a run. When
// resuming it also picks the checkpoint to restore: LATEST, or the newest
// good older one with a warning per checkpoint passed over (strict: an
// error instead); newer leftovers are removed so new commits follow it.
// resumeAuto (restarted pods, requeued jobs) starts afresh only when the
// directory holds no committed checkpoint at all: damaged checkpoints are
// never started over.
func openCheckpoints(dir string, spec job.Spec, mode resumeMode, strict bool, warn io.Writer) (*checkpoint.Store, int64, error) {
	opts := checkpoint.DefaultOptions()
	opts.Retention = checkpoint.Retention{Keep: spec.Checkpoint.Keep, KeepEvery: int64(spec.Checkpoint.KeepEvery)}
	opts.Strict = strict
	store, err := checkpoint.Open(checkpoint.OSFS{}, dir, opts)
	if err != nil {
		return nil, 0, err
	}
	strays, err := store.Strays()
	if err != nil {
		return nil, 0, err
	}
	for _, p := range strays {
		fmt.Fprintf(warn, "warning: %s is named like a step directory but is not one: ignored\n", p)
	}
	if mode != resumeYes {
		entries, err := store.List()
		if err != nil {
			return nil, 0, err
		}
		held := slices.ContainsFunc(entries, func(e checkpoint.Entry) bool { return e.State == checkpoint.Committed })
		switch {
		case held && mode == resumeNo:
			return nil, 0, fmt.Errorf("%s already holds checkpoints: continue that run with --resume, or use another run directory", dir)
		case !held:
			if mode == resumeAuto {
				fmt.Fprintf(warn, "no checkpoint in %s yet: starting the run afresh\n", dir)
			}
			return store, 0, nil
		}
	}
	m, warnings, err := store.Latest()
	for _, w := range warnings {
		fmt.Fprintf(warn, "warning: resume: passed over a checkpoint: %v\n", w)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("resume from %s: %w", dir, err)
	}
	// Refusals come before Rewind: a refused resume changes nothing.
	if err := checkResumable(m, spec); err != nil {
		return nil, 0, fmt.Errorf("resume from %s: %w", dir, err)
	}
	if err := store.Rewind(m.Step); err != nil {
		return nil, 0, fmt.Errorf("resume from %s: %w", dir, err)
	}
	fmt.Fprintf(warn, "resuming from checkpoint step %d (epoch %d, written by %s)\n", m.Step, m.Epoch, plural(m.WorldSize, "worker"))
	return store, m.Step, nil
}
