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

func TestCoreElasticRecovery(t *testing.T) {
	elastic := func(minW, maxW, settle int) *Core {
		c := testCore(minW, maxW, settle)
		c.cfg.Elastic = true
		return c
	}
	t.Run("survivors form the next generation from the latest checkpoint", func(t *testing.T) {
		c := elastic(1, 3, 5)
		c.Join("a", "a:1")
		c.Join("b", "b:1")
		c.Join("c", "c:1")
		c.Checkpointed(40)
		c.Checkpointed(20) // older: ignored
		c.Fail("a", "crash")
		if c.Phase() != PhaseRunning || c.Generation() != 2 {
			t.Fatalf("phase %s gen %d", c.Phase(), c.Generation())
		}
		for id, rank := range map[string]int{"b": 0, "c": 1} {
			p := c.PlanFor(id)
			if p.Action != ActionRun || p.Rank != rank || p.WorldSize != 2 || p.Restore != 40 || p.Generation != 2 {
				t.Fatalf("%s: %+v", id, p)
			}
		}
		if p := c.PlanFor("a"); p.Action != ActionStop {
			t.Fatalf("failed worker: %+v", p)
		}
	})
	t.Run("standby workers are admitted at the recovery", func(t *testing.T) {
		c := elastic(1, 2, 0)
		c.Join("a", "a:1")   // settle 0: generation 1 is a alone
		c.Join("b", "b:1")   // stands by
		c.Join("s", "s:1")   // stands by
		c.Fail("a", "crash") // generation 2: b and s
		if p := c.PlanFor("s"); p.Action != ActionRun || p.Rank != 1 || c.Generation() != 2 {
			t.Fatalf("standby: %+v gen %d", p, c.Generation())
		}
		c.Join("t", "t:1")   // stands by
		c.Fail("b", "crash") // generation 3: s and t
		c.Fail("b", "crash")
		if p := c.PlanFor("t"); p.Action != ActionRun || p.Rank != 1 || c.Generation() != 3 {
			t.Fatalf("standby: %+v gen %d", p, c.Generation())
		}
	})
	t.Run("below a valid world size the run pauses, then resumes on join", func(t *testing.T) {
		c := elastic(2, 2, 1)
		c.Join("a", "a:1")
		c.Join("b", "b:1")
		c.Tick()
		c.Fail("a", "crash")
		if c.Phase() != PhaseWaiting || c.PlanFor("b").Action != ActionWait {
			t.Fatalf("phase %s plan %+v", c.Phase(), c.PlanFor("b"))
		}
		c.Join("c", "c:1")
		c.Tick()
		if c.Phase() != PhaseRunning || c.Generation() != 2 || c.PlanFor("c").Rank != 1 {
			t.Fatalf("phase %s gen %d plan %+v", c.Phase(), c.Generation(), c.PlanFor("c"))
		}
	})
	t.Run("two failures in one generation", func(t *testing.T) {
		c := elastic(1, 4, 5)
		for _, id := range []string{"a", "b", "c", "d"} {
			c.Join(id, id+":1") // the fourth reaches max: generation 1 of 4
		}
		c.Fail("b", "crash")
		c.Fail("d", "crash") // d was ranked in generation 2
		if c.Generation() != 3 || c.WorldSize() != 2 || c.PlanFor("c").Rank != 1 {
			t.Fatalf("gen %d world %d plan %+v", c.Generation(), c.WorldSize(), c.PlanFor("c"))
		}
	})
	t.Run("without a checkpoint the next generation starts over", func(t *testing.T) {
		c := elastic(1, 2, 0)
		c.Join("a", "a:1")
		c.Join("b", "b:1")
		c.Fail("a", "crash")
		if p := c.PlanFor("b"); p.Restore != 0 || p.Action != ActionRun {
			t.Fatalf("%+v", p)
		}
	})
}

func TestCoreScaleUpAtCheckpoint(t *testing.T) {
	c := testCore(1, 4, 0)
	c.cfg.Elastic = true
	c.Join("a", "a:1") // generation 1: a alone
	c.Join("b", "b:1") // stands by
	if c.WorldSize() != 1 || c.PlanFor("b").Action != ActionWait {
		t.Fatalf("world %d, b %+v", c.WorldSize(), c.PlanFor("b"))
	}
	c.Checkpointed(10) // boundary: b is admitted
	if c.Generation() != 2 || c.WorldSize() != 2 || c.PlanFor("b").Rank != 1 || c.PlanFor("b").Restore != 10 {
		t.Fatalf("gen %d world %d b %+v", c.Generation(), c.WorldSize(), c.PlanFor("b"))
	}
	c.Join("x", "x:1")
	c.Checkpointed(20) // 3 workers, but 12 % 3 == 0: grows to 3
	if c.WorldSize() != 3 {
		t.Fatalf("world %d", c.WorldSize())
	}
	c.Checkpointed(30) // nothing new: no new generation
	if c.Generation() != 3 {
		t.Fatalf("gen %d", c.Generation())
	}
	// A failed worker is told to rejoin; a departed one is not.
	c.Fail("x", "crash")
	c.Leave("b")
	if p := c.PlanFor("x"); p.Action != ActionStop || !p.Rejoin {
		t.Fatalf("failed: %+v", p)
	}
	if p := c.PlanFor("b"); p.Action != ActionStop || p.Rejoin {
		t.Fatalf("left: %+v", p)
	}
}

func TestCoreStalledGeneration(t *testing.T) {
	c := testCore(1, 2, 0)
	c.Join("a", "a:1")
	c.Join("b", "b:1")
	c.Fail("b", "gone") // b was standby (settle 0 formed a alone)
	c.Join("c", "c:1")
	gen := c.Generation()
	c.Stalled(gen-1, "old news") // ignored: an older generation
	if c.Phase() != PhaseRunning {
		t.Fatalf("phase %s", c.Phase())
	}
	c.Stalled(gen, "no progress for 60s")
	if c.Phase() != PhaseFailed || !strings.Contains(c.Reason(), "stalled") {
		t.Fatalf("not elastic: phase %s reason %q", c.Phase(), c.Reason())
	}
	e := testCore(1, 2, 0)
	e.cfg.Elastic = true
	e.Join("a", "a:1")
	e.Checkpointed(30)
	e.Stalled(e.Generation(), "no progress")
	if e.Phase() != PhaseRunning || e.Generation() != 2 || e.PlanFor("a").Restore != 30 {
		t.Fatalf("elastic: phase %s gen %d plan %+v", e.Phase(), e.Generation(), e.PlanFor("a"))
	}
}

// A failure while a checkpoint's shards are still arriving: that step was
// never committed (Checkpointed not called), so the next generation restores
// the previous committed one.
func TestCoreFailureDuringCheckpointCommit(t *testing.T) {
	c := testCore(1, 2, 5)
	c.cfg.Elastic = true
	c.Join("a", "a:1")
	c.Join("b", "b:1")
	c.Join("s", "s:1")
	c.Checkpointed(40) // committed
	// step 80: a's shard arrived, b crashes before its own did
	c.Fail("b", "crash during checkpoint 80")
	if p := c.PlanFor("a"); p.Restore != 40 || p.Action != ActionRun {
		t.Fatalf("%+v", p)
	}
}
