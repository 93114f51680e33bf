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
	groupOn(t, spec, corpusFor(t, spec), world, fn)
}

// groupOn is group on a corpus of the caller's.
func groupOn(t *testing.T, spec job.Spec, corpus *Corpus, world int, fn func(r int, tr *Trainer) error) {
	t.Helper()
	net := mem.NewNetwork(world, 0)
	errs := make([]error, world)
	var wg sync.WaitGroup
	for r := range world {
		wg.Go(func() {
			cfg, err := commConfig(spec)
			if err != nil {
				errs[r] = err
				return
			}
			comm, err := allreduce.New(net.Endpoint(r), cfg)
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
	snapshotRoundTrip(t, spec, 4, []restorer{{"cpu", 1}, {"cpu", 2}, {"cpu", 3}, {"cpu", 4}})
}

// A checkpoint is the same whichever device wrote it: written on the
// emulated device (the optimizer state copied off the device) it restores
// exactly on the CPU and on the device at other world sizes (the restored
// state uploaded to the device), and one written on the CPU restores on
// the device; training then goes on as if uninterrupted.
func TestSnapshotRestoresAcrossDevices(t *testing.T) {
	for _, opt := range []string{"adamw", "sgd-momentum"} {
		t.Run(opt, func(t *testing.T) {
			spec := testSpec(opt)
			spec.Model.Device = "emu"
			snapshotRoundTrip(t, spec, 2, []restorer{{"cpu", 1}, {"cpu", 3}, {"emu", 1}, {"emu", 3}})
			spec.Model.Device = "cpu"
			snapshotRoundTrip(t, spec, 3, []restorer{{"emu", 2}})
		})
	}
}

// restorer is a device and world size a checkpoint is restored on.
type restorer struct {
	device string
	world  int
}

// snapshotRoundTrip trains spec for 7 steps on writeWorld ranks, writes a
// checkpoint, restores it on each restorer and checks that the
// parameters, every optimizer state slice, step count and position are
// the checkpoint's exactly, and that 3 more steps end within 1e-5
// relative of an uninterrupted 10-step run on one CPU worker.
func snapshotRoundTrip(t *testing.T, spec job.Spec, writeWorld int, restorers []restorer) {
	t.Helper()
	cpu := spec
	cpu.Model.Device = "cpu"
	want := train(t, cpu, 1, steps(10))
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
	group(t, spec, writeWorld, func(r int, tr *Trainer) error {
		for range 7 {
			if _, _, err := tr.Step(context.Background()); err != nil {
				return err
			}
		}
		snap := tr.Snapshot()
		if err := tr.optErr(); err != nil {
			return err
		}
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
	for _, rs := range restorers {
		t.Run(fmt.Sprintf("%s_world%d_to_%s_world%d", spec.Model.Device, writeWorld, rs.device, rs.world), func(t *testing.T) {
			rspec := spec
			rspec.Model.Device = rs.device
			got := train(t, rspec, rs.world, func(ctx context.Context, tr *Trainer) error {
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
				return steps(3)(ctx, tr) // and training goes on
			})
			if d := relDiff(got, want); d > 1e-5 {
				t.Fatalf("after 3 more steps: relative difference %.2e > 1e-5 to an uninterrupted run", d)
			}
		})
	}
}
