package coordinator

import (
	"strings"
	"testing"
)

// divides: the world size must divide a global batch of 12, between 1 and max.
func testCore(minW, maxW, settle int) *Core {
	return NewCore(CoreConfig{
		MaxWorkers: maxW, SettleTicks: settle,
		WorldSize: func(avail int) (int, bool) {
			for n := min(avail, maxW); n >= minW; n-- {
				if 12%n == 0 {
					return n, true
				}
			}
			return 0, false
		},
	})
}

type step struct {
	op, id string // join, fail, leave, tick, done, failure
}

func TestCoreSequences(t *testing.T) {
	for _, tc := range []struct {
		name             string
		min, max, settle int
		steps            []step
		phase            Phase
		gen              uint64
		ranks            map[string]int // id -> rank (-1 = not ranked)
		reason           string
	}{
		{name: "waits for min workers", min: 2, max: 4, settle: 2,
			steps: []step{{"join", "a"}, {"tick", ""}, {"tick", ""}, {"tick", ""}},
			phase: PhaseWaiting, ranks: map[string]int{"a": -1}},
		{name: "settles then forms in join order", min: 2, max: 4, settle: 2,
			steps: []step{{"join", "b"}, {"join", "a"}, {"tick", ""}, {"join", "c"}, {"tick", ""}},
			phase: PhaseRunning, gen: 1, ranks: map[string]int{"b": 0, "a": 1, "c": 2}},
		{name: "max workers skips the settle window", min: 1, max: 2, settle: 100,
			steps: []step{{"join", "a"}, {"join", "b"}},
			phase: PhaseRunning, gen: 1, ranks: map[string]int{"a": 0, "b": 1}},
		{name: "world size divides the batch: 5 workers -> 4 ranked, 1 standby", min: 1, max: 8, settle: 1,
			steps: []step{{"join", "a"}, {"join", "b"}, {"join", "c"}, {"join", "d"}, {"join", "e"}, {"tick", ""}},
			phase: PhaseRunning, gen: 1, ranks: map[string]int{"a": 0, "b": 1, "c": 2, "d": 3, "e": -1}},
		{name: "leave during settling falls back to waiting", min: 2, max: 4, settle: 3,
			steps: []step{{"join", "a"}, {"join", "b"}, {"leave", "b"}, {"tick", ""}, {"tick", ""}, {"tick", ""}},
			phase: PhaseWaiting, ranks: map[string]int{"a": -1}},
		{name: "failure before the generation is replaced by a new join", min: 2, max: 4, settle: 1,
			steps: []step{{"join", "a"}, {"fail", "a"}, {"join", "b"}, {"join", "c"}, {"tick", ""}},
			phase: PhaseRunning, gen: 1, ranks: map[string]int{"a": -1, "b": 0, "c": 1}},
		{name: "join during a generation stands by", min: 1, max: 4, settle: 0,
			steps: []step{{"join", "a"}, {"join", "b"}},
			phase: PhaseRunning, gen: 1, ranks: map[string]int{"a": 0, "b": -1}},
		{name: "ranked worker failing fails the run", min: 1, max: 2, settle: 0,
			steps: []step{{"join", "a"}, {"join", "b"}, {"fail", "a"}},
			phase: PhaseFailed, gen: 1, reason: "rank 0 of generation 1"},
		{name: "standby worker failing does not", min: 1, max: 1, settle: 0,
			steps: []step{{"join", "a"}, {"join", "b"}, {"fail", "b"}},
			phase: PhaseRunning, gen: 1, ranks: map[string]int{"a": 0, "b": -1}},
		{name: "two failures in one generation: the first decides", min: 2, max: 2, settle: 0,
			steps: []step{{"join", "a"}, {"join", "b"}, {"fail", "b"}, {"fail", "a"}},
			phase: PhaseFailed, gen: 1, reason: "worker b"},
		{name: "done", min: 1, max: 1, settle: 0,
			steps: []step{{"join", "a"}, {"done", ""}, {"fail", "a"}},
			phase: PhaseDone, gen: 1, reason: "complete"},
		{name: "worker failure report fails the run", min: 1, max: 1, settle: 0,
			steps: []step{{"join", "a"}, {"failure", "a"}},
			phase: PhaseFailed, gen: 1, reason: "worker a: boom"},
		{name: "duplicate join is a no-op", min: 2, max: 4, settle: 5,
			steps: []step{{"join", "a"}, {"join", "a"}},
			phase: PhaseWaiting, ranks: map[string]int{"a": -1}},
		{name: "flapping node: fail then join under a new id", min: 2, max: 2, settle: 0,
			steps: []step{{"join", "a"}, {"fail", "a"}, {"join", "a2"}, {"join", "b"}},
			phase: PhaseRunning, gen: 1, ranks: map[string]int{"a": -1, "a2": 0, "b": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testCore(tc.min, tc.max, tc.settle)
			for _, s := range tc.steps {
				switch s.op {
				case "join":
					c.Join(s.id, s.id+":1")
				case "fail":
					c.Fail(s.id, "test")
				case "leave":
					c.Leave(s.id)
				case "tick":
					c.Tick()
				case "done":
					c.Done()
				case "failure":
					c.Failure(s.id, "boom")
				}
			}
			if c.Phase() != tc.phase || c.Generation() != tc.gen {
				t.Fatalf("phase %s gen %d, want %s gen %d; events %v", c.Phase(), c.Generation(), tc.phase, tc.gen, c.TakeEvents())
			}
			if !strings.Contains(c.Reason(), tc.reason) {
				t.Fatalf("reason %q, want %q", c.Reason(), tc.reason)
			}
			for id, want := range tc.ranks {
				p := c.PlanFor(id)
				if want >= 0 {
					if p.Action != ActionRun || p.Rank != want || p.Addrs[want] != id+":1" {
						t.Fatalf("%s: plan %+v, want rank %d", id, p, want)
					}
				} else if p.Action == ActionRun {
					t.Fatalf("%s: plan %+v, want no rank", id, p)
				}
			}
			if tc.phase == PhaseDone || tc.phase == PhaseFailed {
				for _, m := range c.Members() {
					if c.PlanFor(m.ID).Action != ActionStop {
						t.Fatalf("%s not told to stop", m.ID)
					}
				}
			}
		})
	}
}

func TestCoreVersionChangesWithPlans(t *testing.T) {
	c := testCore(1, 2, 0)
	v0 := c.Version()
	c.Join("a", "x")
	if c.Version() == v0 {
		t.Fatal("join did not bump the version")
	}
	v1 := c.Version()
	c.Tick()
	if c.Version() != v1 {
		t.Fatal("a tick while running changed the version")
	}
}
