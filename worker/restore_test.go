package worker

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/internal/testutil"
	"github.com/ringtrain/ringtrain/job"
	"github.com/ringtrain/ringtrain/transport/mem"
)

// group builds world trainers over the mem transport and runs fn on each.
func group(t *testing.T, spec job.Spec, world int, fn func(r int, tr *Trainer) error) {
	t.Helper()
	corpus := corpusFor(t, spec)
	net := mem.NewNetwork(world, 0)
	errs := make([]error, world)
	var wg sync.WaitGroup
	for r := range world {
		wg.Go(func() {
			comm, err := allreduce.New(net.Endpoint(r), allreduce.DefaultConfig())
			if err != nil {
				errs[r] = err
				return
			}
			defer comm.Close()
			choice := spec.Model.Device
			if choice == "" { // a spec literal of a test, without the defaults
				choice = "cpu"
			}
			dev, err := openDevice(choice) // a device per rank, as per worker process
			if err != nil {
				errs[r] = err
				comm.Abort()
				return
			}
			if dev != nil {
				defer dev.Close()
			}
			tr, err := NewTrainerOn(spec, corpus, comm, dev)
			if err != nil {
				errs[r] = err
				comm.Abort()
				return
			}
			defer tr.Close()
			if errs[r] = fn(r, tr); errs[r] != nil {
				comm.Abort()
			}
		})
	}
	wg.Wait()
	for r, err := range errs {
		if err != nil {
			t.Fatalf("world %d rank %d: %v", world, r, err)
		}
	}
}

// A checkpoint written by 4 ranks restores exactly — parameters, every
// optimizer state slice, step count and position — on 1, 2, 3 and 4 ranks,
// through the same store calls the coordinator serves restores with.
func TestSnapshotRestoresExactlyOnAnyWorldSize(t *testing.T) {
	spec := testSpec("adamw")
	store, err := checkpoint.Open(checkpoint.OSFS{}, t.TempDir(), checkpoint.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		shards   []checkpoint.ShardInfo
		manifest checkpoint.Manifest
		params   []float32
		states   = map[string][]float32{}
	)
	group(t, spec, 4, func(r int, tr *Trainer) error {
		for range 7 {
			if _, _, err := tr.Step(context.Background()); err != nil {
				return err
			}
		}
		snap := tr.Snapshot()
		var buf bytes.Buffer
		if err := checkpoint.EncodeShard(&buf, &checkpoint.Shard{Step: snap.Step, Lo: snap.Lo, Hi: snap.Hi, Params: snap.Params, States: snap.States}); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		info, err := store.WriteShard(snap.Step, r, &buf)
		if err != nil {
			return err
		}
		shards = append(shards, info)
		if params == nil {
			params = make([]float32, tr.NumParams())
		}
		copy(params[snap.Lo:snap.Hi], snap.Params)
		for name, v := range snap.States {
			if states[name] == nil {
				states[name] = make([]float32, tr.NumParams())
			}
			copy(states[name][snap.Lo:snap.Hi], v)
		}
		if r == 0 {
			if manifest, err = tr.Manifest(snap.Step, snap.Cursor); err != nil {
				return err
			}
		}
		return nil
	})
	sort.Slice(shards, func(i, j int) bool { return shards[i].Rank < shards[j].Rank })
	manifest.Shards = shards
	if err := store.Commit(manifest); err != nil {
		t.Fatal(err)
	}
	m, err := store.Load(7)
	if err != nil {
		t.Fatal(err)
	}
	for _, world := range []int{1, 2, 3, 4} {
		t.Run(fmt.Sprintf("world%d", world), func(t *testing.T) {
			group(t, spec, world, func(r int, tr *Trainer) error {
				full, _, err := store.ReadRange(m, 0, m.NumParams)
				if err != nil {
					return err
				}
				lo, hi := tr.ShardRange()
				_, st, err := store.ReadRange(m, lo, hi)
				if err != nil {
					return err
				}
				if err := tr.Restore(full, st, m.OptimizerSteps, int(m.Step), data.Cursor{Epoch: m.Cursor.Epoch, Step: m.Cursor.Step}); err != nil {
					return err
				}
				if !testutil.BitsEqual(tr.Params(), params) {
					return fmt.Errorf("parameters differ from the checkpoint")
				}
				for _, s := range tr.opt.State() {
					if !testutil.BitsEqual(s.Data, states[s.Name][lo:hi]) {
						return fmt.Errorf("optimizer state %q of shard [%d,%d) differs", s.Name, lo, hi)
					}
				}
				if tr.opt.Steps() != 7 || tr.Steps() != 7 || tr.cursor != (data.Cursor{Epoch: 0, Step: 7}) {
					return fmt.Errorf("steps %d / %d", tr.opt.Steps(), tr.Steps())
				}
				_, _, err = tr.Step(context.Background()) // and training goes on
				return err
			})
		})
	}
}
