package worker

import (
	"context"
	"sync"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/data"
)

// liveState is the unique training state a worker holds across the
// generations of one session (cluster.replicate_every): for the two newest
// replicated steps, its own shard of the parameters and optimizer state and
// the replica of its ring predecessor's, which the Trainer's communication
// goroutine receives (Comm.Shift) while the next step computes. After a
// failure the survivors rebuild the last step they hold every shard of
// (recoverLive); two steps are kept because a failure can land after some
// ranks have replicated step t and before others have.
//
// The trainer goroutine writes a slot's own half, the communication
// goroutine its replica half; mu guards the flags and the slot order. A
// generation's recovery reads the slots only after the previous
// generation's trainer has stopped.
type liveState struct {
	mu    sync.Mutex
	slots [2]*liveSlot // slots[0] is the newer
	// confirmed is the newest step the last generation knew every rank had
	// completed (and replicated, when replication is on): what a failure
	// may cost is measured from it.
	confirmed int64
}

// liveSlot is one step's state: this worker's own shard and its
// predecessor's, each laid out as [params | optimizer state 0 | 1 | ...]
// over the shard's range of the flat parameters.
type liveSlot struct {
	lineage  uint64 // the generation whose ranks produced it
	world    int    // that generation's world size
	rank     int    // this worker's rank in it
	step     int64  // steps completed
	optSteps int64
	cursor   data.Cursor
	own, rep []float32
	ownOK    bool // own holds the step's state
	repOK    bool // rep holds the predecessor's state of the step
}

// predecessor is the rank whose state this slot's replica holds.
func (s *liveSlot) predecessor() int { return (s.rank + s.world - 1) % s.world }

func newLiveState() *liveState { return &liveState{} }

// claim returns the older slot, emptied and sized for a shard of (world,
// rank) of n parameters with k optimizer states, to hold step's state; it
// becomes the newer one.
func (l *liveState) claim(lineage uint64, world, rank, n, k int, step int64) *liveSlot {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.slots[1]
	if s == nil {
		s = &liveSlot{}
	}
	l.slots[0], l.slots[1] = s, l.slots[0]
	lo, hi := allreduce.ShardRange(n, world, rank)
	plo, phi := allreduce.ShardRange(n, world, (rank+world-1)%world)
	s.own = resize(s.own, (1+k)*(hi-lo))
	s.rep = resize(s.rep, (1+k)*(phi-plo))
	s.lineage, s.world, s.rank, s.step = lineage, world, rank, step
	s.ownOK, s.repOK = false, false
	return s
}

func resize(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// ownDone marks s's own half complete.
func (l *liveState) ownDone(s *liveSlot, optSteps int64, cursor data.Cursor) {
	l.mu.Lock()
	s.optSteps, s.cursor, s.ownOK = optSteps, cursor, true
	l.mu.Unlock()
}

// repDone marks s's replica half complete.
func (l *liveState) repDone(s *liveSlot) {
	l.mu.Lock()
	s.repOK = true
	l.mu.Unlock()
}

func (l *liveState) setConfirmed(step int64) {
	l.mu.Lock()
	l.confirmed = step
	l.mu.Unlock()
}

func (l *liveState) getConfirmed() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.confirmed
}

// bytes is the memory the slots hold.
func (l *liveState) bytes() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.slots {
		if s != nil {
			n += 4 * (cap(s.own) + cap(s.rep))
		}
	}
	return n
}

// replicate records this rank's state after the step just completed in a
// slot and hands the slot to the communication goroutine, which sends it to
// the next rank and receives the previous rank's after the step's
// all-gathers, under the next step's computation. Every
// cluster.replicate_every steps; a no-op without live state.
func (t *Trainer) replicate() {
	if t.live == nil || t.every <= 0 || t.step%t.every != 0 {
		return
	}
	s := t.snapshotLive()
	if t.ov != nil {
		t.ov.enqueueShift(func() { t.live.repDone(s) }, s.own, s.rep)
	}
}

// snapshotLive copies this rank's shard of the parameters and of the
// optimizer state into a claimed slot.
func (t *Trainer) snapshotLive() *liveSlot {
	states := t.opt.State()
	s := t.live.claim(t.lineage, t.world, t.rank, len(t.model.Params()), len(states), int64(t.step))
	n := t.hi - t.lo
	copy(s.own[:n], t.model.Params()[t.lo:t.hi])
	for i, st := range states {
		copy(s.own[(1+i)*n:(2+i)*n], st.Data)
	}
	t.live.ownDone(s, t.opt.Steps(), t.cursor)
	return s
}

// replicateNow replicates the current state at once, on the caller's
// goroutine (the communication goroutine is idle): a generation's first
// replica, right after its restore, so that it never depends on the
// previous generation's.
func (t *Trainer) replicateNow(ctx context.Context) error {
	if t.live == nil || t.every <= 0 {
		return nil
	}
	if err := t.settle(); err != nil {
		return err
	}
	s := t.snapshotLive()
	if t.world == 1 {
		return nil
	}
	if err := t.comm.Shift(ctx, s.own, s.rep); err != nil {
		return err
	}
	t.live.repDone(s)
	return nil
}
