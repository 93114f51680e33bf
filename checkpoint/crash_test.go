package checkpoint_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ringtrain/ringtrain/checkpoint"
)

// crashScenario is "commit checkpoint 1, then write checkpoint 2" on a
// MemFS, with Keep as given (Keep 1 makes checkpoint 2's commit prune 1).
type crashScenario struct {
	opts   checkpoint.Options
	s1, s2 state
}

func newCrashScenario(keep int) crashScenario {
	return crashScenario{
		opts: checkpoint.Options{Retention: checkpoint.Retention{Keep: keep}, ModelSpec: testModel},
		s1:   newState(11, 257, "m", "v"),
		s2:   newState(22, 257, "m", "v"),
	}
}

// setup returns a MemFS holding committed checkpoint 1.
func (c crashScenario) setup(t *testing.T) (*checkpoint.MemFS, *checkpoint.Store) {
	fsys := checkpoint.NewMemFS()
	st := mustOpen(t, fsys, c.opts)
	mustSave(t, st, 1, 4, c.s1)
	return fsys, st
}

// opsOfSecond counts the mutating operations of writing checkpoint 2.
func (c crashScenario) opsOfSecond(t *testing.T) int {
	fsys, st := c.setup(t)
	base := fsys.Ops()
	mustSave(t, st, 2, 4, c.s2)
	n := fsys.Ops() - base
	if n < 30 {
		t.Fatalf("only %d write points: the scenario is too small", n)
	}
	return n
}

// checkRecovered checks the store after a crash or fault: the latest
// checkpoint is 1 or 2, verifies, holds exactly its data, and nothing
// half-written is committed; then training resumes and commits again.
// It returns the step restored.
func (c crashScenario) checkRecovered(t *testing.T, st *checkpoint.Store) int64 {
	t.Helper()
	m, warnings, err := st.Latest()
	if err != nil || len(warnings) > 0 {
		t.Fatalf("Latest: %v (warnings %v)", err, warnings)
	}
	want := map[int64]state{1: c.s1, 2: c.s2}[m.Step]
	if want.params == nil {
		t.Fatalf("restored step %d", m.Step)
	}
	must(t, st.Verify(m.Step))
	checkContent(t, st, m, want)
	ents, err := st.List()
	must(t, err)
	for _, e := range ents {
		if e.State != checkpoint.Committed {
			continue
		}
		if e.Err != nil {
			t.Fatalf("committed step %d is unhealthy: %v", e.Step, e.Err)
		}
		must(t, st.Verify(e.Step))
		if e.Step > m.Step {
			t.Fatalf("step %d committed but Latest chose %d", e.Step, m.Step)
		}
	}
	// Resume: rewind, redo checkpoint 2 if it was lost, then go on.
	must(t, st.Rewind(m.Step))
	if m.Step == 1 {
		mustSave(t, st, 2, 4, c.s2)
	}
	m3 := mustSave(t, st, 3, 4, c.s1)
	got, _, err := st.Latest()
	if err != nil || got.Step != 3 {
		t.Fatalf("after resuming: step %d, %v", got.Step, err)
	}
	checkContent(t, st, m3, c.s1)
	return m.Step
}

func TestCrashAtEveryWritePoint(t *testing.T) {
	for _, keep := range []int{1, 2} {
		t.Run(fmt.Sprintf("keep=%d", keep), func(t *testing.T) {
			c := newCrashScenario(keep)
			total := c.opsOfSecond(t)
			committedAt := -1
			// k == total: the crash comes after the last operation.
			for k := 0; k <= total; k++ {
				fsys, st := c.setup(t)
				fsys.CrashAfter(k)
				_, err := save(t, st, 2, 4, c.s2)
				if k < total && (!errors.Is(err, checkpoint.ErrCrashed) || !fsys.Crashed()) {
					t.Fatalf("crash after %d of %d ops: save returned %v", k, total, err)
				}
				if k == total && err != nil {
					t.Fatalf("no crash: %v", err)
				}
				after := fsys.CrashClone()
				got := c.checkRecovered(t, mustOpen(t, after, c.opts))
				switch {
				case got == 2 && committedAt < 0:
					committedAt = k
				case got == 1 && committedAt >= 0:
					t.Fatalf("crash after %d ops lost checkpoint 2, committed after %d ops", k, committedAt)
				}
			}
			if committedAt < 0 {
				t.Fatal("checkpoint 2 never survived a crash, even after its commit")
			}
			if keep == 2 && committedAt != total {
				// Without pruning, the last operation (the fsync of the
				// directory holding LATEST) is the commit point.
				t.Fatalf("checkpoint 2 durable after %d of %d ops, want exactly at the end", committedAt, total)
			}
			t.Logf("%d write points; checkpoint 2 durable from op %d on", total, committedAt)
		})
	}
}

func TestFaultAtEveryWritePoint(t *testing.T) {
	for _, keep := range []int{1, 2} {
		t.Run(fmt.Sprintf("keep=%d", keep), func(t *testing.T) {
			c := newCrashScenario(keep)
			total := c.opsOfSecond(t)
			for k := 0; k < total; k++ {
				fsys, st := c.setup(t)
				fsys.FailAfter(k)
				_, err := save(t, st, 2, 4, c.s2)
				if !errors.Is(err, checkpoint.ErrInjected) {
					t.Fatalf("fault after %d of %d ops: save returned %v", k, total, err)
				}
				// The same process carries on, and so would one that
				// crashed right after the error.
				c.checkRecovered(t, mustOpen(t, fsys.CrashClone(), c.opts))
				c.checkRecovered(t, st)
			}
		})
	}
}

func TestCrashDuringFirstCheckpoint(t *testing.T) {
	opts := checkpoint.Options{ModelSpec: testModel}
	s1 := newState(1, 100, "m")
	probe := checkpoint.NewMemFS()
	mustSave(t, mustOpen(t, probe, opts), 1, 3, s1)
	total := probe.Ops()
	for k := 0; k < total; k++ {
		fsys := checkpoint.NewMemFS()
		fsys.CrashAfter(k)
		if st, err := checkpoint.Open(fsys, "/ckpt", opts); err == nil {
			if _, err := save(t, st, 1, 3, s1); !errors.Is(err, checkpoint.ErrCrashed) {
				t.Fatalf("crash after %d ops: %v", k, err)
			}
		}
		st := mustOpen(t, fsys.CrashClone(), opts)
		m, _, err := st.Latest()
		switch {
		case errors.Is(err, checkpoint.ErrNotFound):
			// Nothing committed; a new first checkpoint goes through.
			mustSave(t, st, 1, 3, s1)
		case err != nil:
			t.Fatalf("crash after %d ops: %v", k, err)
		default:
			// The manifest was durable, LATEST not yet: the checkpoint is
			// whole (Latest warns that LATEST is missing).
			checkContent(t, st, m, s1)
			must(t, st.Rewind(1))
		}
	}
}
