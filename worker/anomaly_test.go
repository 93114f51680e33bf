package worker

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/ringtrain/ringtrain/internal/testutil"
)

// A NaN on one rank at one step: every rank skips that step together (no
// update anywhere, parameters stay bitwise equal across ranks) and training
// goes on; enough consecutive ones stop the run with ErrNonFinite.
func TestNonFiniteStepIsSkippedEverywhere(t *testing.T) {
	spec := testSpec("adamw")
	spec.Train.MaxSkippedSteps = 3
	poison := func(from, to int) func(r int, tr *Trainer) {
		return func(r int, tr *Trainer) {
			if r == 1 {
				tr.corrupt = func(step int, x []float32) {
					if step >= from && step < to {
						x[0] = float32(math.NaN())
					}
				}
			}
		}
	}
	var before, after []float32
	train(t, spec, 3, func(ctx context.Context, tr *Trainer) error {
		poison(2, 3)(tr.rank, tr)
		for range 2 {
			if _, _, err := tr.Step(ctx); err != nil {
				return err
			}
		}
		if tr.rank == 0 {
			before = append([]float32(nil), tr.Params()...)
		}
		if _, _, err := tr.Step(ctx); err != nil { // the poisoned step
			return err
		}
		if tr.rank == 0 {
			after = append([]float32(nil), tr.Params()...)
		}
		if tr.Skipped() != 1 || tr.Steps() != 3 {
			return errors.New("the poisoned step was not skipped")
		}
		_, _, err := tr.Step(ctx) // and training goes on
		return err
	})
	if !testutil.BitsEqual(before, after) {
		t.Fatal("a skipped step changed the parameters")
	}
	errs := make(chan error, 3)
	group(t, spec, 3, func(r int, tr *Trainer) error {
		poison(1, 100)(r, tr)
		var err error
		for i := 0; i < 10 && err == nil; i++ {
			_, _, err = tr.Step(context.Background())
		}
		errs <- err
		return nil
	})
	close(errs)
	for err := range errs {
		if !errors.Is(err, ErrNonFinite) {
			t.Fatalf("want ErrNonFinite after 3 consecutive skips on every rank, got %v", err)
		}
	}
}
