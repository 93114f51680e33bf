package worker

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/data"
)

// restoredFrom says where a generation's state came from (pb.Restored).
type restoredFrom struct {
	source    string // "replicas", "checkpoint" or "start"
	step      int64
	lost      int64 // completed steps the survivors lose
	detail    string
	prevWorld int
}

// The inventory every rank all-gathers at the start of a generation that
// may recover from live state: a header and up to 6 entries (two slots,
// own and replica, and two slots copied out of the predecessor's arena),
// each a shard of one step of one earlier generation.
const (
	invEntries   = 6
	invEntryLen  = 11 // lineage (2 words), world, rank, step (2), optSteps (2), cursor epoch, cursor step, kind
	invHeaderLen = 4  // confirmed (2 words), entries, magic
	invLen       = invHeaderLen + invEntries*invEntryLen
	invMagic     = 0x52504c32 // "RPL2"
	invOwn       = 1          // an entry's kind: the holder's own shard
	invReplica   = 2          // the replica of its predecessor's
	maxInvWorld  = 1 << 16    // no generation is larger (job: max_workers)
)

// invEntry is one shard some rank holds.
type invEntry struct {
	lineage     uint64
	world, rank int // the shard: rank of world in generation lineage
	step        int64
	optSteps    int64
	cursor      data.Cursor
	holder      int  // the rank of the current generation that holds it
	own         bool // the holder's own shard (else a replica)
}

// group is one step of one generation: the shards of it that survive.
type groupKey struct {
	lineage uint64
	world   int
	step    int64
}

// inventory encodes what l holds.
func (l *liveState) inventory() []uint32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := make([]uint32, invLen)
	w[0], w[1] = uint32(uint64(l.confirmed)>>32), uint32(l.confirmed)
	w[3] = invMagic
	n := 0
	put := func(s arenaSlot, kind uint32) {
		e := w[invHeaderLen+n*invEntryLen:]
		e[0], e[1] = uint32(s.lineage>>32), uint32(s.lineage)
		e[2], e[3] = uint32(s.world), uint32(s.rank)
		e[4], e[5] = uint32(uint64(s.step)>>32), uint32(s.step)
		e[6], e[7] = uint32(uint64(s.optSteps)>>32), uint32(s.optSteps)
		e[8], e[9] = uint32(s.cursor.Epoch), uint32(s.cursor.Step)
		e[10] = kind
		n++
	}
	for _, s := range l.slots {
		if s == nil || !s.ownOK {
			continue
		}
		h := s.header()
		put(h, invOwn)
		if s.repOK && s.world > 1 {
			h.rank = s.predecessor()
			put(h, invReplica)
		}
	}
	for _, m := range l.mapped {
		put(m.h, invReplica)
	}
	w[2] = uint32(n)
	return w
}

// decodeInventory reads rank holder's inventory.
func decodeInventory(w []uint32, holder int) (confirmed int64, es []invEntry, err error) {
	if len(w) != invLen || w[3] != invMagic || w[2] > invEntries {
		return 0, nil, fmt.Errorf("live state: rank %d's inventory is malformed", holder)
	}
	confirmed = int64(uint64(w[0])<<32 | uint64(w[1]))
	for i := range int(w[2]) {
		e := w[invHeaderLen+i*invEntryLen:]
		if e[10] != invOwn && e[10] != invReplica || e[2] < 1 || e[2] > maxInvWorld || e[3] >= e[2] {
			return 0, nil, fmt.Errorf("live state: rank %d's inventory entry %d is malformed (world %d, rank %d, kind %d)", holder, i, e[2], e[3], e[10])
		}
		es = append(es, invEntry{
			lineage: uint64(e[0])<<32 | uint64(e[1]), world: int(e[2]), rank: int(e[3]),
			step:     int64(uint64(e[4])<<32 | uint64(e[5])),
			optSteps: int64(uint64(e[6])<<32 | uint64(e[7])),
			cursor:   data.Cursor{Epoch: int(e[8]), Step: int(e[9])},
			holder:   holder, own: e[10] == invOwn,
		})
	}
	return confirmed, es, nil
}

// liveChoice is the step the generation recovers, with who provides each of
// its shards.
type liveChoice struct {
	key       groupKey
	optSteps  int64
	cursor    data.Cursor
	providers []invEntry // by shard rank
}

// chooseLive picks the newest step of which some rank holds every shard.
// If none, it says which shard of the newest step is missing.
func chooseLive(all []invEntry) (liveChoice, bool, string) {
	groups := map[groupKey][]invEntry{}
	for _, e := range all {
		if e.world < 1 || e.rank < 0 || e.rank >= e.world {
			continue
		}
		k := groupKey{e.lineage, e.world, e.step}
		groups[k] = append(groups[k], e)
	}
	keys := make([]groupKey, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	// Newest step first; between generations with the same step, the later.
	slices.SortFunc(keys, func(a, b groupKey) int {
		if a.step != b.step {
			return int(b.step - a.step)
		}
		if a.lineage != b.lineage {
			if a.lineage > b.lineage {
				return -1
			}
			return 1
		}
		return b.world - a.world
	})
	why := ""
	for _, k := range keys {
		es := groups[k]
		prov := make([]invEntry, k.world)
		have := make([]bool, k.world)
		consistent := true
		for _, e := range es {
			if e.optSteps != es[0].optSteps || e.cursor != es[0].cursor {
				consistent = false
			}
			if !have[e.rank] || e.holder < prov[e.rank].holder {
				prov[e.rank], have[e.rank] = e, true
			}
		}
		var missing []string
		for r, ok := range have {
			if !ok {
				missing = append(missing, fmt.Sprintf("%d", r))
			}
		}
		switch {
		case !consistent:
			if why == "" {
				why = fmt.Sprintf("the shards of step %d disagree on the optimizer's step count or the data position", k.step)
			}
		case len(missing) > 0:
			if why == "" {
				what := "rank " + missing[0] + " of the previous generation (world size %d) at step %d: neither that rank nor the next one, which held its replica, is left"
				if len(missing) > 1 {
					what = "ranks " + strings.Join(missing, ", ") + " of the previous generation (world size %d) at step %d: neither those ranks nor the next ones, which held their replicas, are left"
				}
				why = "no survivor holds the state of " + fmt.Sprintf(what, k.world, k.step)
			}
		default:
			return liveChoice{key: k, optSteps: es[0].optSteps, cursor: es[0].cursor, providers: prov}, true, ""
		}
	}
	if why == "" {
		why = "no worker holds live state (the previous generation replicated nothing yet)"
	}
	return liveChoice{}, false, why
}

// recoverLive is the first thing of a generation whose plan allows live
// recovery: the ranks all-gather what they hold, pick the newest step of
// which every shard survives (unless the checkpoint ckpt is newer), and
// rebuild it: each shard is broadcast by the lowest rank that holds it,
// every rank keeps the full parameters and its own new range of the
// optimizer state, resharded to this generation's world size. ok is false
// when the replicas cannot cover a step (detail says why): the caller
// restores the checkpoint. Every rank reaches the same decision.
func recoverLive(ctx context.Context, comm *allreduce.Comm, tr *Trainer, l *liveState, ckpt int64) (from restoredFrom, ok bool, err error) {
	world, rank := comm.Size(), comm.Rank()
	l.materialize()
	buf := make([]float32, world*invLen)
	for i, w := range l.inventory() {
		buf[rank*invLen+i] = math.Float32frombits(w)
	}
	if err := comm.AllGather(ctx, buf); err != nil {
		return from, false, fmt.Errorf("live state: exchanging inventories: %w", err)
	}
	var all []invEntry
	var confirmed int64
	for r := range world {
		w := make([]uint32, invLen)
		for i := range w {
			w[i] = math.Float32bits(buf[r*invLen+i])
		}
		c, es, err := decodeInventory(w, r)
		if err != nil {
			return from, false, err
		}
		confirmed = max(confirmed, c)
		all = append(all, es...)
	}
	choice, covered, why := chooseLive(all)
	switch {
	case tr.every <= 0:
		why = "replication is off (cluster.replicate_every: 0)"
	case covered && choice.key.step < ckpt:
		why = fmt.Sprintf("the newest step the replicas cover, %d, is older than checkpoint step %d", choice.key.step, ckpt)
	case covered:
		if err := assemble(ctx, comm, tr, l, choice); err != nil {
			return from, false, err
		}
		return restoredFrom{source: "replicas", step: choice.key.step, lost: max(0, confirmed-choice.key.step), prevWorld: choice.key.world}, true, nil
	}
	from = restoredFrom{source: "checkpoint", step: ckpt, lost: max(0, confirmed-ckpt), detail: why}
	if ckpt == 0 {
		from.source = "start"
	}
	return from, false, nil
}

// assemble broadcasts every shard of the chosen step from its provider and
// restores tr from them.
func assemble(ctx context.Context, comm *allreduce.Comm, tr *Trainer, l *liveState, c liveChoice) error {
	n := tr.NumParams()
	states := tr.opt.State()
	k := len(states)
	params := make([]float32, n)
	lo, hi := tr.ShardRange()
	newStates := make(map[string][]float32, k)
	for _, st := range states {
		newStates[st.Name] = make([]float32, hi-lo)
	}
	for q, p := range c.providers {
		qlo, qhi := allreduce.ShardRange(n, c.key.world, q)
		m := qhi - qlo
		buf := make([]float32, (1+k)*m)
		if p.holder == comm.Rank() {
			src, err := l.shard(c.key, q, p.own, len(buf))
			if err != nil {
				return err
			}
			copy(buf, src)
		}
		if err := comm.Broadcast(ctx, buf, p.holder); err != nil {
			return fmt.Errorf("live state: rank %d's shard of step %d from rank %d: %w", q, c.key.step, p.holder, err)
		}
		copy(params[qlo:qhi], buf[:m])
		// The overlap of shard q with this rank's new range.
		a, b := max(lo, qlo), min(hi, qhi)
		for i, st := range states {
			if a < b {
				copy(newStates[st.Name][a-lo:b-lo], buf[(1+i)*m+a-qlo:(1+i)*m+b-qlo])
			}
		}
	}
	return tr.Restore(params, newStates, c.optSteps, int(c.key.step), c.cursor)
}

// shard returns the data of shard q of the chosen step as this worker
// holds it (own or replica), checking its length.
func (l *liveState) shard(k groupKey, q int, own bool, want int) ([]float32, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.slots {
		if s == nil || s.lineage != k.lineage || s.world != k.world || s.step != k.step {
			continue
		}
		if own && s.ownOK && s.rank == q && len(s.own) == want {
			return s.own, nil
		}
		if !own && s.repOK && s.predecessor() == q && len(s.rep) == want {
			return s.rep, nil
		}
	}
	for _, m := range l.mapped {
		if !own && m.h.lineage == k.lineage && m.h.world == k.world && m.h.step == k.step && m.h.rank == q && len(m.vals) == want {
			return m.vals, nil
		}
	}
	return nil, fmt.Errorf("live state: shard %d of step %d is no longer held here", q, k.step)
}
