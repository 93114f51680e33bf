package bench

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/checkpoint"
)

// CheckpointOptions configures the checkpoint benchmark.
type CheckpointOptions struct {
	Dir    string   // a directory on the disk to measure (a fresh subdirectory is used)
	Params int      // parameters of the model
	World  int      // ranks writing shards
	States []string // optimizer state slices per parameter ("m", "v" for Adam)
	Reps   int      // repetitions (median reported)
}

// CheckpointResult is one benchmark run: medians over the repetitions.
type CheckpointResult struct {
	Bytes    int64         // bytes of one checkpoint (all shards)
	DD       time.Duration // dd of the same bytes with conv=fsync
	Write    time.Duration // encode + write every shard durably (ranks in parallel) + commit
	Snapshot time.Duration // one rank's in-memory copy of its shard: the training stall
	Resume   time.Duration // open + pick LATEST (verifying every checksum) + read all parameters and one rank's state
}

// Checkpoint measures writing, snapshotting and resuming a checkpoint
// through the checkpoint package on the real disk, beside dd.
func Checkpoint(o CheckpointOptions) (CheckpointResult, error) {
	if o.Params < 1 || o.World < 1 || o.Reps < 1 {
		return CheckpointResult{}, errors.New("bench checkpoint: need params, world and reps >= 1")
	}
	root, err := os.MkdirTemp(o.Dir, "ringtrain-bench-ckpt")
	if err != nil {
		return CheckpointResult{}, err
	}
	defer os.RemoveAll(root)
	rng := rand.New(rand.NewPCG(1, 2))
	params := make([]float32, o.Params)
	for i := range params {
		params[i] = rng.Float32()
	}
	states := map[string][]float32{}
	for _, s := range o.States {
		states[s] = slices.Clone(params)
	}
	var dd, write, snap, resume []time.Duration
	var snapBufs [][]float32
	var res CheckpointResult
	for rep := range o.Reps {
		store, err := checkpoint.Open(checkpoint.OSFS{}, filepath.Join(root, "store"+strconv.Itoa(rep)), checkpoint.DefaultOptions())
		if err != nil {
			return res, err
		}
		t0 := time.Now()
		m, err := writeCheckpoint(store, params, states, o.World)
		if err != nil {
			return res, err
		}
		write = append(write, time.Since(t0))
		res.Bytes = 0
		for _, s := range m.Shards {
			res.Bytes += s.Size
		}
		// The worker's snapshot: copy rank 0's shard into buffers it reuses
		// (touched before, as after the first checkpoint of a run).
		lo, hi := allreduce.ShardRange(o.Params, o.World, 0)
		if snapBufs == nil {
			for range 1 + len(states) {
				snapBufs = append(snapBufs, make([]float32, hi-lo))
			}
		}
		t0 = time.Now()
		copy(snapBufs[0], params[lo:hi])
		i := 1
		for _, v := range states {
			copy(snapBufs[i], v[lo:hi])
			i++
		}
		snap = append(snap, time.Since(t0))

		t0 = time.Now()
		store2, err := checkpoint.Open(checkpoint.OSFS{}, store.Dir(), checkpoint.DefaultOptions())
		if err != nil {
			return res, err
		}
		latest, _, err := store2.Latest()
		if err != nil {
			return res, err
		}
		if _, _, err := store2.ReadRange(latest, 0, o.Params); err != nil {
			return res, err
		}
		if _, _, err := store2.ReadRange(latest, lo, hi); err != nil {
			return res, err
		}
		resume = append(resume, time.Since(t0))

		d, err := ddFsync(filepath.Join(root, "dd.tmp"), res.Bytes)
		if err != nil {
			return res, err
		}
		dd = append(dd, d)
	}
	res.DD, res.Write, res.Snapshot, res.Resume = median(dd), median(write), median(snap), median(resume)
	return res, nil
}

// writeCheckpoint does what the workers and the coordinator do for one
// checkpoint: each rank encodes its shard, the shards are written durably
// in parallel, then the manifest is committed.
func writeCheckpoint(store *checkpoint.Store, params []float32, states map[string][]float32, world int) (checkpoint.Manifest, error) {
	m := checkpoint.Manifest{Step: 1, WorldSize: world, NumParams: len(params),
		Layout: []checkpoint.Tensor{{Name: "w", Shape: []int{len(params)}, Offset: 0}}}
	for name := range states {
		m.StateNames = append(m.StateNames, name)
	}
	slices.Sort(m.StateNames)
	infos := make([]checkpoint.ShardInfo, world)
	errs := make([]error, world)
	var wg sync.WaitGroup
	for r := range world {
		wg.Go(func() {
			lo, hi := allreduce.ShardRange(len(params), world, r)
			st := map[string][]float32{}
			for n, v := range states {
				st[n] = v[lo:hi]
			}
			// Encode while writing, as the coordinator receives it: no copy of the shard.
			pr, pw := io.Pipe()
			go func() {
				pw.CloseWithError(checkpoint.EncodeShard(pw, &checkpoint.Shard{Step: 1, Lo: lo, Hi: hi, Params: params[lo:hi], States: st}))
			}()
			infos[r], errs[r] = store.WriteShard(1, r, pr)
			pr.CloseWithError(errors.New("reader done"))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return m, err
	}
	m.Shards = infos
	return m, store.Commit(m)
}

// ddFsync times `dd if=/dev/zero of=path bs=1M count=N conv=fsync` for n
// bytes: the disk's durable sequential write.
func ddFsync(path string, n int64) (time.Duration, error) {
	count := max(1, n>>20)
	t0 := time.Now()
	out, err := exec.Command("dd", "if=/dev/zero", "of="+path, "bs=1M", "count="+strconv.FormatInt(count, 10), "conv=fsync").CombinedOutput()
	d := time.Since(t0)
	os.Remove(path)
	if err != nil {
		return 0, fmt.Errorf("dd: %v: %s", err, out)
	}
	return d * time.Duration(n) / time.Duration(count<<20), nil
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
