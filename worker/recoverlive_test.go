package worker

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/internal/testutil"
)

// trainedState is what a group of ranks held after training: the full
// parameters and optimizer states (every rank's shard, concatenated: the
// dumb reference) and the position.
type trainedState struct {
	params   []float32
	states   map[string][]float32
	optSteps int64
	step     int
	cursor   data.Cursor
}

// trainLive trains world ranks for n steps with live state kept, and
// returns each rank's live state and the reference state. hosts, if not
// nil, is each rank's host: ranks of one host share memory, so a successor
// there maps its predecessor's arena and nothing is streamed between them.
func trainLive(t *testing.T, opt, device string, world, n int, hosts []int) ([]*liveState, trainedState) {
	t.Helper()
	spec := testSpec(opt)
	spec.Model.Device = device
	lives := make([]*liveState, world)
	snaps := make([]Snapshot, world)
	var ref trainedState
	t.Cleanup(func() {
		for _, l := range lives {
			if l != nil {
				l.close()
			}
		}
	})
	group(t, spec, world, func(r int, tr *Trainer) error {
		lives[r] = newLiveState()
		tr.SetLive(lives[r], 7)
		pred, succ := (r+world-1)%world, (r+1)%world
		if hosts != nil {
			tr.sharedPeer = func(p int) bool { return hosts[p] == hosts[r] }
		}
		if err := tr.replicateNow(context.Background()); err != nil {
			return err
		}
		mapsPred, mappedBySucc := hosts != nil && hosts[pred] == hosts[r], hosts != nil && hosts[succ] == hosts[r]
		if tr.share.pred != mapsPred || tr.share.succ != mappedBySucc || tr.share.why != "" {
			return fmt.Errorf("rank %d of hosts %v: sharing %+v", r, hosts, tr.share)
		}
		if err := steps(n)(context.Background(), tr); err != nil {
			return err
		}
		if s := lives[r].slots[0]; (len(s.rep) == 0) != mapsPred || s.shared != mappedBySucc {
			return fmt.Errorf("rank %d of hosts %v: %d replica values streamed, own half in the arena %v", r, hosts, len(s.rep), s.shared)
		}
		p := tr.Params() // waits for the last step's all-gather and replica
		s := tr.Snapshot()
		snaps[r] = Snapshot{Params: slices.Clone(s.Params), States: map[string][]float32{}, OptSteps: s.OptSteps, Step: s.Step, Cursor: s.Cursor}
		for k, v := range s.States {
			snaps[r].States[k] = slices.Clone(v)
		}
		if r == 0 {
			ref.params = slices.Clone(p)
		}
		return nil
	})
	ref.states = map[string][]float32{}
	for _, s := range snaps {
		for k, v := range s.States {
			ref.states[k] = append(ref.states[k], v...)
		}
	}
	ref.optSteps, ref.step, ref.cursor = snaps[0].OptSteps, int(snaps[0].Step), snaps[0].Cursor
	return lives, ref
}

// Ranks of a generation trained with replicas; some are lost (or new ones
// join); the next generation's ranks rebuild exactly the state of the last
// step — every parameter, every optimizer state value of their new shard,
// the optimizer's step count and the data position — resharded to the new
// world size, from the survivors' own shards and replicas alone.
func TestLiveRecoveryRebuildsTheStateExactly(t *testing.T) {
	for _, tc := range []struct {
		opt, device string
		world       int
		keep        []int // the old ranks that survive, in their new rank order; -1: a new worker
		hosts       []int // each old rank's host (nil: none shares memory): successors on the same host map the arenas
	}{
		{"adamw", "cpu", 4, []int{0, 1, 3}, nil},               // rank 2 killed: its replica is on rank 3
		{"adamw", "cpu", 4, []int{3, 0}, nil},                  // ranks 1 and 2 lost: rank 1's state lived only on them
		{"sgd-momentum", "cpu", 3, []int{1}, nil},              // one survivor of 3 holds shards 1 and 0, not 2
		{"sgd-momentum", "cpu", 2, []int{1}, nil},              // one survivor of 2 holds both shards
		{"adamw", "cpu", 2, []int{0, 1, -1, -1}, nil},          // scale-up: two new workers receive the state
		{"adamw", "cpu", 4, []int{1, 2, 3, 0}, nil},            // the same workers in another rank order
		{"adamw", "emu", 4, []int{0, 1, 3}, nil},               // the optimizer state on a device (copied off it to replicate)
		{"adamw", "cpu", 4, []int{0, 1, 3}, oneHost(4)},        // rank 2's state survives in rank 3's mapping of its arena
		{"adamw", "cpu", 4, []int{3, 0}, oneHost(4)},           // rank 1's arena died with rank 2's mapping
		{"sgd-momentum", "cpu", 2, []int{1}, oneHost(2)},       // one survivor maps the other's arena
		{"adamw", "cpu", 2, []int{0, 1, -1, -1}, oneHost(2)},   // scale-up from arenas
		{"adamw", "emu", 4, []int{1, 2, 3, 0}, oneHost(4)},     // a device optimizer's state, copied into the arena
		{"adamw", "cpu", 4, []int{0, 2, 3}, []int{0, 0, 1, 1}}, // two hosts: rank 1's state was streamed to rank 2
		{"adamw", "cpu", 4, []int{0, 1, 3}, []int{0, 0, 1, 1}}, // two hosts: rank 2's arena is mapped by rank 3
	} {
		t.Run(fmt.Sprintf("%s_%s_%d_to_%v_hosts_%v", tc.opt, tc.device, tc.world, tc.keep, tc.hosts), func(t *testing.T) {
			lives, ref := trainLive(t, tc.opt, tc.device, tc.world, 5, tc.hosts)
			if tc.hosts != nil {
				for old, l := range lives {
					if !slices.Contains(tc.keep, old) {
						l.close() // what a killed process leaves: its mapping of its predecessor's arena is gone
					}
				}
			}
			covered := coveredBy(tc.world, tc.keep)
			spec := testSpec(tc.opt)
			spec.Model.Device = tc.device
			group(t, spec, len(tc.keep), func(r int, tr *Trainer) error {
				l := newLiveState()
				if old := tc.keep[r]; old >= 0 {
					l = lives[old]
				}
				from, ok, err := recoverLive(context.Background(), tr.comm, tr, l, 0)
				if err != nil {
					return err
				}
				if !covered {
					if ok || from.source != "start" || !strings.Contains(from.detail, "no survivor holds the state of rank") {
						return fmt.Errorf("survivors %v of %d: recovered %+v, ok %v; want the fallback naming a rank", tc.keep, tc.world, from, ok)
					}
					return nil
				}
				if !ok || from.source != "replicas" || from.step != int64(ref.step) || from.prevWorld != tc.world || from.lost != 0 {
					return fmt.Errorf("recovered %+v, ok %v; want step %d from replicas of world %d", from, ok, ref.step, tc.world)
				}
				if !testutil.BitsEqual(tr.Params(), ref.params) {
					return fmt.Errorf("rank %d: parameters differ from the trained ones", r)
				}
				s := tr.Snapshot()
				for name, want := range ref.states {
					if !testutil.BitsEqual(s.States[name], want[s.Lo:s.Hi]) {
						return fmt.Errorf("rank %d: optimizer state %q [%d, %d) differs", r, name, s.Lo, s.Hi)
					}
				}
				if s.OptSteps != ref.optSteps || int(s.Step) != ref.step || s.Cursor != ref.cursor {
					return fmt.Errorf("rank %d: position %d/%d/%v, want %d/%d/%v", r, s.OptSteps, s.Step, s.Cursor, ref.optSteps, ref.step, ref.cursor)
				}
				return nil
			})
		})
	}
}

// oneHost is the hosts of world ranks on one host.
func oneHost(world int) []int { return make([]int, world) }

// coveredBy: whether the old ranks in keep hold every shard of world (each
// holds its own and its predecessor's).
func coveredBy(world int, keep []int) bool {
	have := make([]bool, world)
	for _, r := range keep {
		if r >= 0 {
			have[r] = true
			if world > 1 {
				have[(r+world-1)%world] = true
			}
		}
	}
	return !slices.Contains(have, false)
}

// entry is a test inventory entry.
func entry(lineage uint64, world, rank int, step int64, holder int, own bool) invEntry {
	return invEntry{lineage: lineage, world: world, rank: rank, step: step, optSteps: step, cursor: data.Cursor{Step: int(step)}, holder: holder, own: own}
}

// coverage of a world-4 generation at step: every rank's own shard and
// replica, except those listed as lost.
func coverage(lineage uint64, step int64, lostOwn, lostRep []int) []invEntry {
	var es []invEntry
	for r := range 4 {
		if !slices.Contains(lostOwn, r) {
			es = append(es, entry(lineage, 4, r, step, r, true))
		}
		if !slices.Contains(lostRep, r) {
			es = append(es, entry(lineage, 4, (r+3)%4, step, r, false))
		}
	}
	return es
}

func TestChooseLive(t *testing.T) {
	inconsistent := coverage(5, 11, nil, nil)
	inconsistent[3].optSteps++
	for _, tc := range []struct {
		name     string
		entries  []invEntry
		ok       bool
		step     int64
		lineage  uint64
		why      string
		provider map[int]int // shard -> holder
	}{
		{"every shard of two steps: the newer", append(coverage(5, 10, nil, nil), coverage(5, 11, nil, nil)...), true, 11, 5, "", map[int]int{0: 0, 1: 1, 2: 2, 3: 0}},
		{"rank 2's replica of step 11 not received: step 10",
			append(coverage(5, 10, []int{2}, nil), coverage(5, 11, []int{2}, []int{3})...), true, 10, 5, "", map[int]int{2: 3}},
		{"ranks 1 and 2 lost: no step", append(coverage(5, 10, []int{1, 2}, []int{1, 2}), coverage(5, 11, []int{1, 2}, []int{1, 2})...), false, 0, 0,
			"no survivor holds the state of rank 1 of the previous generation (world size 4) at step 11", nil},
		{"a later generation with the same step wins", append(coverage(5, 10, nil, nil), coverage(6, 10, nil, nil)...), true, 10, 6, "", nil},
		{"shards that disagree are not used", append(coverage(5, 10, nil, nil), inconsistent...), true, 10, 5, "", nil},
		{"nothing held", nil, false, 0, 0, "no worker holds live state", nil},
		{"malformed entries are ignored", []invEntry{entry(5, 0, 0, 3, 0, true), entry(5, 2, 2, 3, 0, true)}, false, 0, 0, "no worker holds live state", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ok, why := chooseLive(tc.entries)
			if ok != tc.ok || (ok && (c.key.step != tc.step || c.key.lineage != tc.lineage)) || !strings.Contains(why, tc.why) {
				t.Fatalf("chose %+v ok %v why %q; want step %d of %d, ok %v, why %q", c.key, ok, why, tc.step, tc.lineage, tc.ok, tc.why)
			}
			for shard, holder := range tc.provider {
				if c.providers[shard].holder != holder {
					t.Fatalf("shard %d from rank %d, want the lowest holder %d", shard, c.providers[shard].holder, holder)
				}
			}
		})
	}
}

// An inventory survives its encoding (as a rank all-gathers it).
func TestInventoryRoundTrip(t *testing.T) {
	l := newLiveState()
	l.setConfirmed(1 << 40)
	a := l.claim(3<<33, 4, 1, 100, 2, 1<<35, 1<<36, data.Cursor{Epoch: 7, Step: 9}, true)
	l.ownDone(a)
	l.repDone(a)
	b := l.claim(3<<33, 4, 1, 100, 2, 1<<35+1, 1<<36+1, data.Cursor{Epoch: 7, Step: 10}, true)
	l.ownDone(b)
	confirmed, es, err := decodeInventory(l.inventory(), 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []invEntry{
		{lineage: 3 << 33, world: 4, rank: 1, step: 1<<35 + 1, optSteps: 1<<36 + 1, cursor: data.Cursor{Epoch: 7, Step: 10}, holder: 2, own: true},
		{lineage: 3 << 33, world: 4, rank: 1, step: 1 << 35, optSteps: 1 << 36, cursor: data.Cursor{Epoch: 7, Step: 9}, holder: 2, own: true},
		{lineage: 3 << 33, world: 4, rank: 0, step: 1 << 35, optSteps: 1 << 36, cursor: data.Cursor{Epoch: 7, Step: 9}, holder: 2, own: false},
	}
	if confirmed != 1<<40 || !slices.Equal(es, want) {
		t.Fatalf("decoded %d %+v\nwant %+v", confirmed, es, want)
	}
	// A peer's entry of an impossible world size or rank is refused (a
	// world of 2^20 would make the choice allocate for it).
	for _, bad := range []struct{ word, value uint32 }{{2, 0}, {2, 1 << 20}, {3, 4}, {10, 3}} {
		w := l.inventory()
		w[invHeaderLen+bad.word] = bad.value
		if _, _, err := decodeInventory(w, 2); err == nil || !strings.Contains(err.Error(), "malformed") {
			t.Errorf("entry word %d = %d: %v, want malformed", bad.word, bad.value, err)
		}
	}
}

// Inventories come from peers: no bytes make the decoder panic, and what it
// accepts re-encodes to the same entries.
func FuzzDecodeInventory(f *testing.F) {
	l := newLiveState()
	s := l.claim(9, 3, 2, 10, 1, 4, 4, data.Cursor{Step: 4}, true)
	l.ownDone(s)
	l.repDone(s)
	var seed []byte
	for _, w := range l.inventory() {
		seed = binary.LittleEndian.AppendUint32(seed, w)
	}
	f.Add(seed)
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		w := make([]uint32, len(b)/4)
		for i := range w {
			w[i] = binary.LittleEndian.Uint32(b[4*i:])
		}
		_, es, err := decodeInventory(w, 1)
		if err != nil {
			return
		}
		if len(es) > invEntries {
			t.Fatalf("%d entries", len(es))
		}
		chooseLive(es) // must not panic on whatever a peer sends
	})
}
