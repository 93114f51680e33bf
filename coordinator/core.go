package coordinator

import (
	"fmt"
	"sort"
)

// Phase is the state of a run.
type Phase string

// Phases of a run.
const (
	PhaseWaiting  Phase = "waiting"  // fewer workers than a valid world size
	PhaseSettling Phase = "settling" // enough workers; waiting briefly for more
	PhaseRunning  Phase = "running"
	PhaseDone     Phase = "done"
	PhaseFailed   Phase = "failed"
	PhaseStopped  Phase = "stopped" // shut down before the end (Stop): not a failure
)

// MemberState is a worker's state in the core.
type MemberState string

// Member states.
const (
	StateJoined  MemberState = "joined"  // waiting for the first generation
	StateRanked  MemberState = "ranked"  // has a rank in the current generation
	StateStandby MemberState = "standby" // joined after the generation formed
	StateFailed  MemberState = "failed"
	StateLeft    MemberState = "left"
)

// Action tells a worker what to do with a plan.
type Action int

// Plan actions.
const (
	ActionWait Action = iota + 1
	ActionRun
	ActionStop
)

// CoreConfig parameterizes the core.
type CoreConfig struct {
	// WorldSize returns the world size for the given number of available
	// workers, and false when none is valid (job.Spec.WorldSize).
	WorldSize func(available int) (int, bool)
	// MaxWorkers admitted into a generation; reaching it skips the settle
	// window.
	MaxWorkers int
	// SettleTicks is how many ticks to wait for more workers once a valid
	// world size exists.
	SettleTicks int
	// GenerationBase is added to every generation number, so that the
	// numbers keep growing across coordinator restarts (the driver derives
	// it from its start time); 0 in tests.
	GenerationBase uint64
	// Elastic: when a ranked worker fails or leaves, the survivors form a
	// new generation that restores the newest committed checkpoint (or
	// starts over without one); below a valid world size the run pauses
	// until workers join. Otherwise the run fails.
	Elastic bool
	// MaxCheckpointFailures is how many checkpoints in a row may fail to be
	// stored (CheckpointFailed) before the run fails; 0 means 1
	// (job.Checkpoint.MaxFailures).
	MaxCheckpointFailures int
}

// Plan is what one worker is told.
type Plan struct {
	Generation uint64
	Action     Action
	Rank       int            // -1 unless Action is ActionRun
	WorldSize  int            // of the generation
	Addrs      map[int]string // every rank's data address
	Reason     string
	Failed     bool  // ActionStop because the run failed
	Restore    int64 // ActionRun: restore this checkpoint step first (0: fresh start)
	Rejoin     bool  // ActionStop: removed after a failure; may join again as a new member
	// Live (ActionRun): a generation of this coordinator ran before this
	// one, so its ranks may hold live state (cluster.replicate_every): the
	// ranks recover from it if it covers a step, else restore Restore.
	Live bool
}

// Member is a worker as the core knows it.
type Member struct {
	ID, DataAddr string
	State        MemberState
	Rank         int
	joinSeq      int
}

// Core is the coordinator's decision state machine. It is not safe for
// concurrent use; the driver serializes calls.
type Core struct {
	cfg        CoreConfig
	phase      Phase
	gen        uint64
	members    map[string]*Member
	seq        int
	settleLeft int
	ranks      []string // rank -> member id in the current generation
	reason     string   // why the run failed or stopped
	version    uint64   // bumped whenever any plan may have changed
	events     []Event
	restore    int64  // checkpoint step the current generation restored (0: none)
	latest     int64  // newest committed checkpoint step
	ckFailures int    // checkpoints failed in a row (by step) since the last newer commit
	ckFailure  string // the last failed checkpoint: its step and why
	ckFailed   int64  // the newest failed checkpoint step (0: none since the last reset)
	formed     int    // generations formed by this core
}

// Checkpointed records that a checkpoint of step is committed: the next
// generation restores it. The driver calls it on resume and after every
// commit. It changes no current plan. Commits and failures of different
// steps may arrive out of order (a checkpoint is stored while training
// goes on): only a commit newer than the newest failed step ends a row of
// failures.
func (c *Core) Checkpointed(step int64) {
	if step > c.latest {
		c.latest = step
	}
	if step > c.ckFailed {
		c.ckFailures, c.ckFailed = 0, 0
	}
	c.scaleUp()
}

// scaleUp admits standby workers at a checkpoint boundary: if more workers
// are available than the current generation uses (and a larger valid world
// size exists, up to MaxWorkers), the next generation forms from this
// checkpoint. The global batch stays the same.
func (c *Core) scaleUp() {
	if c.phase != PhaseRunning || !c.cfg.Elastic {
		return
	}
	world, ok := c.cfg.WorldSize(len(c.alive()))
	if !ok || world <= len(c.ranks) {
		return
	}
	c.logf(EventScaleUp, "checkpoint step %d: %s available, growing from %d to %d ranks", c.latest, workers(len(c.alive())), len(c.ranks), world)
	c.form()
}

// Latest is the newest committed checkpoint step (0: none).
func (c *Core) Latest() int64 { return c.latest }

// NewCore returns a core in PhaseWaiting.
func NewCore(cfg CoreConfig) *Core {
	return &Core{cfg: cfg, phase: PhaseWaiting, members: map[string]*Member{}, gen: cfg.GenerationBase}
}

// workers is "1 worker", "2 workers".
func workers(n int) string {
	if n == 1 {
		return "1 worker"
	}
	return fmt.Sprintf("%d workers", n)
}

func (c *Core) logf(kind EventKind, format string, args ...any) {
	c.events = append(c.events, Event{Kind: kind, Message: fmt.Sprintf(format, args...)})
}

func (c *Core) changed() { c.version++ }

// Phase is the current phase.
func (c *Core) Phase() Phase { return c.phase }

// Generation is the current generation (GenerationBase before the first).
func (c *Core) Generation() uint64 { return c.gen }

// Version changes whenever any worker's plan may have changed.
func (c *Core) Version() uint64 { return c.version }

// Reason says why the run failed (PhaseFailed) or ended.
func (c *Core) Reason() string { return c.reason }

// WorldSize of the current generation (0 before the first).
func (c *Core) WorldSize() int { return len(c.ranks) }

// TakeEvents returns and clears the decisions logged since the last call.
func (c *Core) TakeEvents() []Event {
	e := c.events
	c.events = nil
	return e
}

// Members returns the known workers in join order.
func (c *Core) Members() []Member {
	out := make([]Member, 0, len(c.members))
	for _, m := range c.members {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].joinSeq < out[j].joinSeq })
	return out
}

// Member returns worker id as the core knows it (false when unknown).
func (c *Core) Member(id string) (Member, bool) {
	m, ok := c.members[id]
	if !ok {
		return Member{}, false
	}
	return *m, true
}

// MemberCounts is how many known workers are in each state; every state is
// present, with 0 when none is in it.
func (c *Core) MemberCounts() map[MemberState]int {
	counts := map[MemberState]int{StateJoined: 0, StateRanked: 0, StateStandby: 0, StateFailed: 0, StateLeft: 0}
	for _, m := range c.members {
		counts[m.State]++
	}
	return counts
}

func (c *Core) alive() []*Member {
	var out []*Member
	for _, m := range c.members {
		if m.State != StateFailed && m.State != StateLeft {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].joinSeq < out[j].joinSeq })
	return out
}

// Join admits a worker. Joining twice with the same id is a no-op.
func (c *Core) Join(id, dataAddr string) {
	if _, ok := c.members[id]; ok {
		return
	}
	c.seq++
	m := &Member{ID: id, DataAddr: dataAddr, State: StateJoined, Rank: -1, joinSeq: c.seq}
	c.members[id] = m
	switch c.phase {
	case PhaseWaiting, PhaseSettling:
		c.logf(EventJoin, "worker %s joined (%d waiting)", id, len(c.alive()))
		c.rendezvous()
	case PhaseRunning:
		m.State = StateStandby
		c.logf(EventJoin, "worker %s joined during generation %d: standing by for the next generation", id, c.gen)
	default:
		m.State = StateStandby
	}
	c.changed()
}

// rendezvous moves Waiting → Settling → (at MaxWorkers) a generation.
func (c *Core) rendezvous() {
	n := len(c.alive())
	_, ok := c.cfg.WorldSize(n)
	switch {
	case !ok:
		if c.phase == PhaseSettling {
			c.logf(EventRendezvous, "only %s left: waiting for more", workers(n))
		}
		c.phase = PhaseWaiting
	case n >= c.cfg.MaxWorkers || c.cfg.SettleTicks == 0:
		c.form()
	case c.phase == PhaseWaiting:
		c.phase = PhaseSettling
		c.settleLeft = c.cfg.SettleTicks
		c.logf(EventRendezvous, "%s: settling for %d ticks before forming generation %d", workers(n), c.settleLeft, c.gen+1)
	}
}

// form starts a generation with the first world-size workers in join order.
func (c *Core) form() {
	alive := c.alive()
	world, ok := c.cfg.WorldSize(len(alive))
	if !ok {
		c.phase = PhaseWaiting
		return
	}
	c.gen++
	c.ranks = c.ranks[:0]
	for i, m := range alive {
		if i < world {
			m.State, m.Rank = StateRanked, i
			c.ranks = append(c.ranks, m.ID)
		} else {
			m.State, m.Rank = StateStandby, -1
		}
	}
	c.phase = PhaseRunning
	c.restore = c.latest
	c.formed++
	from := "from the start"
	if c.restore > 0 {
		from = fmt.Sprintf("restoring checkpoint step %d", c.restore)
	}
	if c.live() {
		from = "from the previous generation's live state if it covers a step, else " + from
	}
	c.logf(EventGeneration, "generation %d formed: world size %d (%d standing by), %s", c.gen, world, len(alive)-world, from)
	c.changed()
}

// Tick advances logical time (the settle window).
func (c *Core) Tick() {
	if c.phase != PhaseSettling {
		return
	}
	c.settleLeft--
	if c.settleLeft <= 0 {
		c.form()
	}
}

// State is a member's state (false when unknown).
func (c *Core) State(id string) (MemberState, bool) {
	m, ok := c.members[id]
	if !ok {
		return "", false
	}
	return m.State, true
}

// Fail records that a worker died (broken stream, memberlist failure).
func (c *Core) Fail(id, reason string) { c.lose(id, StateFailed, reason) }

// Leave records that a worker left gracefully.
func (c *Core) Leave(id string) { c.lose(id, StateLeft, "left") }

func (c *Core) lose(id string, st MemberState, reason string) {
	m, ok := c.members[id]
	if !ok || m.State == StateFailed || m.State == StateLeft {
		return
	}
	wasRanked := m.State == StateRanked && c.phase == PhaseRunning
	m.State = st
	c.changed()
	switch c.phase {
	case PhaseWaiting, PhaseSettling:
		c.logf(EventLeave, "worker %s %s before the first generation: %s", id, st, reason)
		c.rendezvous()
	case PhaseRunning:
		if !wasRanked {
			c.logf(EventLeave, "standby worker %s %s: %s", id, st, reason)
			return
		}
		what := fmt.Sprintf("worker %s (rank %d of generation %d) %s: %s", id, m.Rank, c.gen, st, reason)
		if !c.cfg.Elastic {
			c.fail(what)
			return
		}
		c.recover(what)
	}
}

// recover ends the current generation after a loss: the survivors (and
// any standby workers) form the next one at once, or the run pauses until
// enough workers are back.
func (c *Core) recover(what string) {
	c.logf(EventFailure, "%s: generation %d ends", what, c.gen)
	for _, m := range c.members {
		if m.State == StateRanked || m.State == StateStandby {
			m.State, m.Rank = StateJoined, -1
		}
	}
	c.ranks = c.ranks[:0]
	alive := len(c.alive())
	if _, ok := c.cfg.WorldSize(alive); !ok {
		c.phase = PhaseWaiting
		c.logf(EventPaused, "training paused: %s left, not enough for a valid world size; waiting for workers to join", workers(alive))
		return
	}
	c.form()
}

// Stalled records that generation gen made no progress within the step
// timeout (reported by a worker): with Elastic, the alive workers form a new
// generation from the newest checkpoint; otherwise the run fails. Reports
// about older generations are ignored.
func (c *Core) Stalled(gen uint64, reason string) {
	if c.phase != PhaseRunning || gen != c.gen {
		return
	}
	what := fmt.Sprintf("generation %d stalled: %s", gen, reason)
	if !c.cfg.Elastic {
		c.fail(what)
		return
	}
	c.changed()
	c.recover(what)
}

// Done records that the run completed (rank 0 reported its summary).
func (c *Core) Done() {
	if c.phase != PhaseRunning {
		return
	}
	if c.ckFailures > 0 { // the last checkpoint, the final step's, failed
		c.fail(c.finalCheckpointLost())
		return
	}
	c.phase = PhaseDone
	c.reason = "training complete"
	c.logf(EventDone, "run complete after generation %d", c.gen)
	c.changed()
}

// Failure records a fatal error reported by a worker: the run fails.
func (c *Core) Failure(id, msg string) {
	if c.Ended() {
		return
	}
	c.fail(fmt.Sprintf("worker %s: %s", id, msg))
}

// Stop ends the run without failing it: the coordinator is shutting down
// (a signal, an interrupted launch). Every plan becomes STOP (not failed),
// and workers that go away from now on are neither failures nor a reason
// to re-form or pause. It does nothing once the run has ended.
func (c *Core) Stop(reason string) {
	if c.Ended() {
		return
	}
	c.phase = PhaseStopped
	c.reason = reason
	c.logf(EventStopped, "run stopped: %s", reason)
	c.changed()
}

// Ended reports whether the run is over: done, failed or stopped.
func (c *Core) Ended() bool {
	return c.phase == PhaseDone || c.phase == PhaseFailed || c.phase == PhaseStopped
}

func (c *Core) fail(reason string) {
	c.phase = PhaseFailed
	c.reason = reason
	c.logf(EventFailed, "run failed: %s", reason)
	c.changed()
}

// PlanFor is the current plan of worker id.
func (c *Core) PlanFor(id string) Plan {
	m, ok := c.members[id]
	switch {
	case c.Ended():
		return Plan{Generation: c.gen, Action: ActionStop, Rank: -1, Reason: c.reason, Failed: c.phase == PhaseFailed}
	case !ok:
		return Plan{Generation: c.gen, Action: ActionStop, Rank: -1, Reason: "unknown worker"}
	case m.State == StateFailed:
		return Plan{Generation: c.gen, Action: ActionStop, Rank: -1, Rejoin: true,
			Reason: "removed from the run after a failure: join again as a new member"}
	case m.State == StateLeft:
		return Plan{Generation: c.gen, Action: ActionStop, Rank: -1, Reason: "left the run"}
	case m.State == StateRanked:
		addrs := make(map[int]string, len(c.ranks))
		for r, id := range c.ranks {
			addrs[r] = c.members[id].DataAddr
		}
		return Plan{Generation: c.gen, Action: ActionRun, Rank: m.Rank, WorldSize: len(c.ranks), Addrs: addrs, Restore: c.restore, Live: c.live()}
	case m.State == StateStandby:
		return Plan{Generation: c.gen, Action: ActionWait, Rank: -1, Reason: fmt.Sprintf("standing by: generation %d is running", c.gen)}
	default:
		return Plan{Generation: c.gen, Action: ActionWait, Rank: -1, Reason: fmt.Sprintf("rendezvous: %s joined", workers(len(c.alive())))}
	}
}

// live reports whether the current generation's ranks may recover from
// live state: an earlier generation of this core ran (a restarted
// coordinator's first generation restores its checkpoint: the workers
// joined again, holding nothing).
func (c *Core) live() bool { return c.formed > 1 }

// Ranks returns the member ids of the current generation by rank (a copy;
// empty between generations).
func (c *Core) Ranks() []string { return append([]string(nil), c.ranks...) }

// RankOf returns the member id holding rank r in the current generation.
func (c *Core) RankOf(r int) (string, bool) {
	if r < 0 || r >= len(c.ranks) {
		return "", false
	}
	return c.ranks[r], true
}
