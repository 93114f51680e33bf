package worker

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// ensureArena makes the own halves' arena hold need values per slot: a
// larger arena replaces a smaller one, and a slot still in the old one
// moves to the heap (the successor that mapped the old one keeps its
// mapping, and so its memory, until its next generation).
func (l *liveState) ensureArena(need int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.arena != nil && l.arena.capacity >= need {
		return nil
	}
	a, err := createArena(need + need/4)
	if err != nil {
		return err
	}
	for _, s := range l.slots {
		if s != nil && s.shared {
			s.own, s.shared = slices.Clone(s.own), false
		}
	}
	if l.arena != nil {
		l.arena.close()
	}
	l.arena = a
	return nil
}

// setPred replaces the mapping of the predecessor's arena (nil: none).
func (l *liveState) setPred(a *liveArena) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pred != nil {
		l.pred.close()
	}
	l.pred, l.mapped = a, nil
}

// materialize copies the complete slots of the predecessor's arena, if
// this worker mapped one: they count as replicas at the recovery.
func (l *liveState) materialize() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mapped = nil
	if l.pred == nil {
		return
	}
	for i := range 2 {
		if h, vals, ok := l.pred.readSlot(i); ok {
			l.mapped = append(l.mapped, mappedSlot{h: h, vals: vals})
		}
	}
}

// close releases the arenas at the end of the session.
func (l *liveState) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, a := range []*liveArena{l.arena, l.pred} {
		if a != nil {
			a.close()
		}
	}
	l.arena, l.pred, l.mapped = nil, nil, nil
}

// sharing is how a generation's replicas travel (shareArenas).
type sharing struct {
	succ, pred bool   // the successor maps this rank's arena; this rank maps the predecessor's
	all        bool   // every rank's replica is mapped: no stream at all
	why        string // why a replica of a neighbour that shares the host is streamed (this rank's arena failed, or the predecessor's cannot be mapped)
}

// mode says in words how this rank's replicas travel (the log).
func (sh sharing) mode(world int) string {
	switch {
	case world == 1:
		return "none (one rank)"
	case sh.all:
		return "shared memory (every successor maps its predecessor's arena)"
	case sh.succ && sh.pred:
		return "shared memory with both ring neighbours (streamed elsewhere in the ring)"
	case sh.succ:
		return "shared memory to the successor, streamed from the predecessor"
	case sh.pred:
		return "streamed to the successor, shared memory from the predecessor"
	}
	return "streamed"
}

// shareArenas runs at the start of a generation that replicates: each rank
// whose ring successor shares its host's memory (Trainer.sharedPeer)
// announces its arena to it, over the data plane; the successor maps it and
// the ranks all-gather who did. A rank then streams its state only to a
// successor that did not.
func (t *Trainer) shareArenas(ctx context.Context) (sharing, error) {
	var sh sharing
	var ownWhy, predWhy string // why the successor cannot map this rank's arena; why this rank maps none
	succ, pred := (t.rank+1)%t.world, (t.rank+t.world-1)%t.world
	desc, got := make([]float32, arenaDescLen), make([]float32, arenaDescLen)
	if t.sharedPeer != nil && t.sharedPeer(succ) {
		if err := t.live.ensureArena((1 + len(t.opt.State())) * (t.hi - t.lo)); err != nil {
			ownWhy = err.Error()
		} else {
			t.live.arena.descriptor(desc)
		}
	}
	if err := t.comm.Shift(ctx, desc, got); err != nil {
		return sh, fmt.Errorf("live state: announcing the shared arenas: %w", err)
	}
	var mapped *liveArena
	if t.sharedPeer != nil && t.sharedPeer(pred) {
		predWhy = "the predecessor offered no arena"
		if pid, fd, key, ok := decodeDescriptor(got); ok {
			var err error
			if mapped, err = attachArena(pid, fd, key); err != nil {
				predWhy = err.Error()
			} else {
				predWhy = ""
			}
		}
	}
	t.live.setPred(mapped)
	flags := make([]float32, t.world)
	if mapped != nil {
		flags[t.rank] = 1
	}
	if err := t.comm.AllGather(ctx, flags); err != nil {
		return sh, fmt.Errorf("live state: agreeing on the shared arenas: %w", err)
	}
	sh.pred, sh.succ = mapped != nil, flags[succ] == 1
	sh.all = !slices.ContainsFunc(flags, func(f float32) bool { return f != 1 })
	sh.why = strings.Join(slices.DeleteFunc([]string{ownWhy, predWhy}, func(w string) bool { return w == "" }), "; ")
	return sh, nil
}
