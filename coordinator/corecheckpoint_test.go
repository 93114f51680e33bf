package coordinator

import (
	"strings"
	"testing"
)

// A failed checkpoint is an event; max in a row fail the run with the
// disk's error; a commit in between resets the count.
func TestCoreCheckpointFailures(t *testing.T) {
	type op struct {
		commit int64 // > 0: Checkpointed(commit)
		fail   int64 // > 0: CheckpointFailed(fail, "no space left on device")
		done   bool  // Done: rank 0 reported the end of training
	}
	for _, tc := range []struct {
		name     string
		max      int
		ops      []op
		phase    Phase
		latest   int64
		inARow   int
		events   int    // checkpoint-failed events
		reason   string // part of the run's reason when it fails
		lastWord string // part of the last checkpoint-failed event
	}{
		{name: "one failure is an event", max: 3, ops: []op{{commit: 10}, {fail: 20}},
			phase: PhaseRunning, latest: 10, inARow: 1, events: 1, lastWord: "training goes on, the latest checkpoint is still step 10"},
		{name: "a commit resets the count", max: 2, ops: []op{{fail: 10}, {commit: 20}, {fail: 30}, {commit: 40}, {fail: 50}},
			phase: PhaseRunning, latest: 40, inARow: 1, events: 3, lastWord: "1 of checkpoint.max_failures 2"},
		{name: "max in a row fail the run", max: 3, ops: []op{{commit: 10}, {fail: 20}, {fail: 30}, {fail: 40}},
			phase: PhaseFailed, latest: 10, inARow: 3, events: 3,
			reason: "3 checkpoints in a row could not be stored (checkpoint.max_failures 3); the last, step 40: no space left on device"},
		{name: "max 1: the first failure stops", max: 1, ops: []op{{fail: 10}},
			phase: PhaseFailed, inARow: 1, events: 1, reason: "step 10: no space left on device"},
		{name: "failures after the run failed change nothing", max: 1, ops: []op{{fail: 10}, {fail: 20}},
			phase: PhaseFailed, inARow: 1, events: 1, reason: "the last, step 10"},
		{name: "done after a failed earlier checkpoint and a good final one", max: 3, ops: []op{{fail: 10}, {commit: 20}, {done: true}},
			phase: PhaseDone, latest: 20, events: 1, reason: "training complete", lastWord: "step 10"},
		{name: "done whose final checkpoint failed: the result is lost, the run fails", max: 3, ops: []op{{commit: 10}, {fail: 20}, {done: true}},
			phase: PhaseFailed, latest: 10, inARow: 1, events: 1,
			reason: "training finished, but its final checkpoint could not be stored (step 20: no space left on device); the newest stored checkpoint is step 10"},
		{name: "an older commit after a newer failure does not break the row", max: 2, ops: []op{{fail: 20}, {commit: 10}, {fail: 30}},
			phase: PhaseFailed, latest: 10, inARow: 2, events: 2, reason: "2 checkpoints in a row could not be stored"},
		{name: "the final checkpoint fails while an older one commits", max: 3, ops: []op{{fail: 30}, {commit: 20}, {done: true}},
			phase: PhaseFailed, latest: 20, inARow: 1, events: 1,
			reason: "training finished, but its final checkpoint could not be stored (step 30: no space left on device); the newest stored checkpoint is step 20"},
		{name: "a failure older than the latest commit does not count", max: 1, ops: []op{{commit: 20}, {fail: 10}, {done: true}},
			phase: PhaseDone, latest: 20, events: 1, reason: "training complete", lastWord: "the newer checkpoint step 20 is stored"},
		{name: "done without any stored checkpoint", max: 3, ops: []op{{fail: 20}, {done: true}},
			phase: PhaseFailed, inARow: 1, events: 1, reason: "(step 20: no space left on device); no checkpoint was stored"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testCore(1, 1, 0)
			c.cfg.MaxCheckpointFailures = tc.max
			c.cfg.Elastic = true
			c.Join("a", "x:1")
			if c.Phase() != PhaseRunning {
				t.Fatalf("phase %s", c.Phase())
			}
			gen := c.Generation()
			c.TakeEvents()
			for _, o := range tc.ops {
				if o.commit > 0 {
					c.Checkpointed(o.commit)
				}
				if o.fail > 0 {
					c.CheckpointFailed(o.fail, "no space left on device")
				}
				if o.done {
					c.Done()
				}
			}
			var failed []Event
			for _, e := range c.TakeEvents() {
				if e.Kind == "checkpoint-failed" {
					failed = append(failed, e)
				}
			}
			if c.Phase() != tc.phase || c.Latest() != tc.latest || c.CheckpointFailures() != tc.inARow || len(failed) != tc.events {
				t.Fatalf("phase %s latest %d in a row %d events %d, want %s %d %d %d", c.Phase(), c.Latest(), c.CheckpointFailures(), len(failed), tc.phase, tc.latest, tc.inARow, tc.events)
			}
			if c.Generation() != gen {
				t.Fatalf("a failed checkpoint changed the generation: %d -> %d", gen, c.Generation())
			}
			if !strings.Contains(c.Reason(), tc.reason) {
				t.Fatalf("reason %q, want %q", c.Reason(), tc.reason)
			}
			if last := failed[len(failed)-1].Message; !strings.Contains(last, tc.lastWord) || !strings.Contains(last, "no space left on device") {
				t.Fatalf("last event %q, want %q and the disk's error", last, tc.lastWord)
			}
			if p := c.PlanFor("a"); (p.Action == ActionStop) != (tc.phase != PhaseRunning) || p.Failed != (tc.phase == PhaseFailed) {
				t.Fatalf("plan %+v in phase %s", p, c.Phase())
			}
		})
	}
}
