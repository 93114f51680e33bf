package worker

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/internal/testutil"
	"github.com/ringtrain/ringtrain/job"
)

// K accumulated micro-batches make the update of one batch of the same
// global size: on 1 and 2 workers, for momentum SGD and AdamW, within 1e-5
// of the run without accumulation.
func TestAccumulateEquivalence(t *testing.T) {
	for _, opt := range []string{"sgd-momentum", "adamw"} {
		spec := testSpec(opt)
		one := train(t, spec, 1, steps(12))
		for _, c := range []struct{ world, k int }{{1, 2}, {1, 3}, {2, 2}, {2, 3}, {3, 4}} {
			t.Run(fmt.Sprintf("%s/world%d/K%d", opt, c.world, c.k), func(t *testing.T) {
				s := spec
				s.Train.Accumulate = c.k
				got := train(t, s, c.world, steps(12))
				if d := relDiff(got, one); d > 1e-5 {
					t.Fatalf("relative difference %.2e > 1e-5 to one batch on one worker", d)
				}
			})
		}
	}
}

// The buckets change when the collectives run, never their result: the
// parameters are bitwise the same with one bucket, small buckets and the
// default, on 3 workers with accumulation.
func TestBucketsDoNotChangeResults(t *testing.T) {
	spec := testSpec("adamw")
	spec.Train.Accumulate = 2
	var ref []float32
	for _, b := range []int64{0, 4096, 1 << 20} {
		spec.Cluster.BucketBytes = b
		got := train(t, spec, 3, steps(8))
		if ref == nil {
			ref = got
		} else if !testutil.BitsEqual(got, ref) {
			t.Fatalf("bucket_bytes %d: parameters differ from one bucket's", b)
		}
	}
}

// A run with accumulation resumed at a step boundary continues bitwise as
// the uninterrupted run.
func TestAccumulateResumesExactly(t *testing.T) {
	spec := testSpec("adamw")
	spec.Train.Accumulate = 2
	spec.Cluster.BucketBytes = 4096
	const world = 2
	straight := train(t, spec, world, steps(10))
	resumed := resumeAfter(t, spec, world, 5, 5)
	if !testutil.BitsEqual(resumed, straight) {
		t.Fatal("resumed run differs from the uninterrupted one")
	}
}

// resumeAfter trains first steps on world ranks, snapshots every rank's
// parameters, optimizer state, step and cursor (what a checkpoint holds),
// restores them into fresh trainers and trains rest more steps: rank 0's
// final parameters.
func resumeAfter(t *testing.T, spec job.Spec, world, first, rest int) []float32 {
	t.Helper()
	type saved struct {
		params   []float32
		states   map[string][]float32
		optSteps int64
		step     int
		cursor   data.Cursor
	}
	snaps := make([]saved, world)
	train(t, spec, world, func(ctx context.Context, tr *Trainer) error {
		if err := steps(first)(ctx, tr); err != nil {
			return err
		}
		st := map[string][]float32{}
		for _, s := range tr.opt.State() {
			st[s.Name] = slices.Clone(s.Data)
		}
		snaps[tr.rank] = saved{slices.Clone(tr.Params()), st, tr.opt.Steps(), tr.Steps(), tr.cursor}
		return nil
	})
	return train(t, spec, world, func(ctx context.Context, tr *Trainer) error {
		s := snaps[tr.rank]
		if err := tr.Restore(s.params, maps.Clone(s.states), s.optSteps, s.step, s.cursor); err != nil {
			return err
		}
		return steps(rest)(ctx, tr)
	})
}

// A global batch that the world size times accumulate does not divide is
// refused with the values that work.
func TestAccumulateBadBatch(t *testing.T) {
	spec := testSpec("adamw")
	spec.Train.Accumulate = 5
	err := newTrainerErr(t, spec, 2)
	if err == nil || !strings.Contains(err.Error(), "train.accumulate") {
		t.Fatalf("global batch 24, accumulate 5 on 2 workers: %v", err)
	}
	t.Log(err)
}
