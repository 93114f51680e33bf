package worker

import (
	"context"
	"io"
	"sync"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/optim"
)

// liveState is the unique training state a worker holds across the
// generations of one session (cluster.replicate_every): for the two newest
// replicated steps, its own shard of the parameters and optimizer state and
// the replica of its ring predecessor's, which the Trainer's communication
// goroutine receives (Comm.Shift) while the next step computes. When the
// predecessor runs on the same host and shares memory with this worker,
// nothing is streamed: the predecessor writes its own half into an arena
// this worker maps (livearena.go), and the replica is copied out of the
// mapping only at a recovery (materialize). After a
// failure the survivors rebuild the last step they hold every shard of
// (recoverLive); two steps are kept because a failure can land after some
// ranks have replicated step t and before others have.
//
// The trainer goroutine claims a slot; the communication goroutine fills
// it (the own half too, unless the optimizer state lives on a device); mu
// guards the flags and the slot order. A generation's recovery reads the
// slots only after the previous generation's trainer has stopped.
type liveState struct {
	mu    sync.Mutex
	slots [2]*liveSlot // slots[0] is the newer
	// confirmed is the newest step the last generation knew every rank had
	// completed (and replicated, when replication is on): what a failure
	// may cost is measured from it.
	confirmed int64
	made      int // slots made so far (a slot's arena index)
	// arena holds the own halves when the ring successor shares this
	// host's memory (livearena.go); pred is the predecessor's, mapped, and
	// mapped what was copied out of it at the last recovery.
	arena  *liveArena
	pred   *liveArena
	mapped []mappedSlot
}

// mappedSlot is one step of the predecessor's shard, copied out of its
// arena at a recovery.
type mappedSlot struct {
	h    arenaSlot
	vals []float32
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
	idx      int  // its slot in the arena
	shared   bool // own lies in the arena
}

// header says which step of which shard s's own half holds.
func (s *liveSlot) header() arenaSlot {
	return arenaSlot{lineage: s.lineage, world: s.world, rank: s.rank, step: s.step, optSteps: s.optSteps, cursor: s.cursor}
}

// predecessor is the rank whose state this slot's replica holds.
func (s *liveSlot) predecessor() int { return (s.rank + s.world - 1) % s.world }

func newLiveState() *liveState { return &liveState{} }

// claim returns the older slot, emptied and sized for a shard of (world,
// rank) of n parameters with k optimizer states, to hold step's state; it
// becomes the newer one. Its own half lies in the arena if there is one
// large enough; its replica half is empty unless withRep (the predecessor
// streams its state rather than sharing its arena).
func (l *liveState) claim(lineage uint64, world, rank, n, k int, step int64, optSteps int64, cursor data.Cursor, withRep bool) *liveSlot {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.slots[1]
	if s == nil {
		s = &liveSlot{idx: l.made}
		l.made++
	}
	l.slots[0], l.slots[1] = s, l.slots[0]
	lo, hi := allreduce.ShardRange(n, world, rank)
	s.lineage, s.world, s.rank, s.step, s.optSteps, s.cursor = lineage, world, rank, step, optSteps, cursor
	plo, phi := allreduce.ShardRange(n, world, s.predecessor())
	if need := (1 + k) * (hi - lo); l.arena != nil && need <= l.arena.capacity {
		l.arena.beginWrite(s.idx)
		s.own, s.shared = l.arena.data(s.idx)[:need], true
	} else {
		if s.shared {
			s.own, s.shared = nil, false
		}
		s.own = resize(s.own, need)
	}
	s.rep = s.rep[:0]
	if withRep {
		s.rep = resize(s.rep, (1+k)*(phi-plo))
	}
	s.ownOK, s.repOK = false, false
	return s
}

func resize(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// ownDone marks s's own half complete (and publishes it in the arena).
func (l *liveState) ownDone(s *liveSlot) {
	l.mu.Lock()
	s.ownOK = true
	if s.shared {
		h := s.header()
		h.n = len(s.own)
		l.arena.endWrite(s.idx, h)
	}
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

// bytes is the memory the slots hold once both exist: a slot not made yet
// (before a session's second replicated step) counts as the newest one.
func (l *liveState) bytes() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.slots {
		if s == nil {
			s = l.slots[0]
		}
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
//
// Only the optimizer state travels: once the step's all-gathers are done
// (the shift runs after them on the same goroutine), this rank's own
// parameters hold the predecessor's shard of the step too, and the
// communication goroutine copies it from there. Until the next step's
// reduce-scatter, which runs after the shift, nothing changes the
// parameters or a host optimizer's state, so the goroutine also copies this
// rank's own shard, off the training goroutine. A device optimizer's state
// is copied off the device by the training goroutine, before.
//
// To a successor that maps this rank's arena nothing is sent (the own copy
// is the replica); when every rank's successor does, the communication
// goroutine only makes the own copy.
func (t *Trainer) replicate() {
	if t.live == nil || t.every <= 0 || t.step%t.every != 0 {
		return
	}
	if t.ov == nil { // one rank: nobody to send to
		t.snapshotLive()
		return
	}
	s, states := t.claimLive()
	own := func() { t.fillOwn(s, states) }
	if _, onDevice := t.opt.(io.Closer); onDevice {
		own()
		own = nil
	}
	if t.share.all { // every successor maps its predecessor's arena
		if own != nil {
			t.ov.enqueueShift(own, nil, nil, nil, false)
		}
		return
	}
	send, recv, done := t.streams(s)
	t.ov.enqueueShift(own, send, recv, done, true)
}

// streams is what the replica stream of slot s sends and receives: nothing
// to a successor that maps this rank's arena, nothing from a predecessor
// whose arena this rank maps; done completes the received replica.
func (t *Trainer) streams(s *liveSlot) (send, recv []float32, done func()) {
	if !t.share.succ {
		send = s.own[t.hi-t.lo:]
	}
	if !t.share.pred {
		m := len(s.rep) / (1 + len(t.opt.State()))
		recv, done = s.rep[m:], func() { t.repParams(s, m) }
	}
	return send, recv, done
}

// claimLive claims a slot for the step just completed (liveState.claim),
// and returns the optimizer's state views.
func (t *Trainer) claimLive() (*liveSlot, []optim.State) {
	states := t.opt.State()
	withRep := t.world > 1 && !t.share.pred
	return t.live.claim(t.lineage, t.world, t.rank, len(t.model.Params()), len(states), int64(t.step), t.opt.Steps(), t.cursor, withRep), states
}

// repParams completes s's replica with the predecessor's m parameters,
// from this rank's own buffer (complete after the step's all-gather).
func (t *Trainer) repParams(s *liveSlot, m int) {
	plo, _ := allreduce.ShardRange(len(t.model.Params()), t.world, s.predecessor())
	copy(s.rep[:m], t.model.Params()[plo:plo+m])
	t.live.repDone(s)
}

// snapshotLive copies this rank's shard of the parameters and of the
// optimizer state into a claimed slot.
func (t *Trainer) snapshotLive() *liveSlot {
	s, states := t.claimLive()
	t.fillOwn(s, states)
	return s
}

// fillOwn copies this rank's shard of the parameters and the optimizer
// states into s and marks it complete, with the step's optimizer step count
// and cursor (claim time's: the trainer's, unchanged since).
func (t *Trainer) fillOwn(s *liveSlot, states []optim.State) {
	n := t.hi - t.lo
	copy(s.own[:n], t.model.Params()[t.lo:t.hi])
	for i, st := range states {
		copy(s.own[(1+i)*n:(2+i)*n], st.Data)
	}
	t.live.ownDone(s)
}

// replicateNow replicates the current state at once, on the caller's
// goroutine (the communication goroutine is idle): a generation's first
// replica, right after its restore, so that it never depends on the
// previous generation's. It first settles how this generation's replicas
// travel (shareArenas).
func (t *Trainer) replicateNow(ctx context.Context) error {
	if t.live == nil || t.every <= 0 {
		return nil
	}
	if err := t.settle(); err != nil {
		return err
	}
	if t.world > 1 {
		sh, err := t.shareArenas(ctx)
		if err != nil {
			return err
		}
		t.share = sh
	}
	s := t.snapshotLive()
	if t.world == 1 || t.share.all {
		return nil
	}
	send, recv, done := t.streams(s)
	if err := t.comm.Shift(ctx, send, recv); err != nil {
		return err
	}
	if done != nil {
		done()
	}
	return nil
}
