package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/internal/testutil"
	"github.com/ringtrain/ringtrain/job"
)

// packedMNIST packs the embedded MNIST-10k into shards of about 256 KiB
// (about 320 samples each, 25 training shards).
func packedMNIST(t testing.TB) string {
	t.Helper()
	tr, te := mnist(t)
	dir := filepath.Join(t.TempDir(), "shards")
	if _, err := data.PackDatasets(dir, tr, te, data.PackOptions{DType: data.ShardUint8, InputScale: 1.0 / 255, ShardBytes: 256 << 10}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func shardSpec(dir string) job.Spec {
	s := testSpec("adamw")
	s.Data.Source, s.Data.Path, s.Data.OnError = "shards", dir, "fail"
	return s
}

// The streamed samples are the plan's reference samples bitwise, for every
// rank of several world sizes, over an epoch boundary, and a cursor the
// stream does not expect (a resume, a world size change) restarts it there.
func TestShardSourceMatchesPlan(t *testing.T) {
	dir := packedMNIST(t)
	c, err := LoadData(shardSpec(dir))
	if err != nil {
		t.Fatal(err)
	}
	train, _ := mnist(t)
	base := make([]int, len(c.Shards.Manifest.Train)) // first sample index of each shard in train
	for i := 1; i < len(base); i++ {
		base[i] = base[i-1] + c.Shards.Manifest.Train[i-1].Samples
	}
	const gb = 48
	check := func(src *shardSource, cur data.Cursor, rank, world int) {
		t.Helper()
		b := gb / world
		x, y := make([]float32, b*train.Dim), make([]int32, b)
		if err := src.fill(cur, rank, world, x, y); err != nil {
			t.Fatal(err)
		}
		ref, err := src.plan.Samples(cur, rank, world)
		if err != nil {
			t.Fatal(err)
		}
		idx := make([]int, len(ref))
		for i, s := range ref {
			idx[i] = base[s.Shard] + s.Record
		}
		wx, wy := make([]float32, len(x)), make([]int32, len(y))
		if err := train.Gather(idx, wx, wy); err != nil {
			t.Fatal(err)
		}
		if !testutil.BitsEqual(x, wx) || !slicesEqual(y, wy) {
			t.Fatalf("cursor %+v rank %d of %d: the streamed batch is not the plan's", cur, rank, world)
		}
	}
	for _, world := range []int{1, 2, 3} {
		for rank := range world {
			src, err := newShardSource(c.Shards, gb, 7, false, slog.Default())
			if err != nil {
				t.Fatal(err)
			}
			spe := src.stepsPerEpoch()
			for s := spe - 3; s < spe; s++ { // starts mid-epoch: a resume
				check(src, data.Cursor{Epoch: 0, Step: s}, rank, world)
			}
			for s := range 3 {
				check(src, data.Cursor{Epoch: 1, Step: s}, rank, world)
			}
			check(src, data.Cursor{Epoch: 4, Step: 17}, rank, world)   // a jump
			check(src, data.Cursor{Epoch: 4, Step: 18}, (rank+1)%4, 4) // another world
			check(src, data.Cursor{Epoch: 4, Step: 19}, (rank+1)%4, 4) // continues
			src.Close()
		}
	}
}

func slicesEqual(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A run on shards resumed mid-epoch continues bitwise as the run that
// never stopped; it trains as the in-memory MNIST does.
func TestShardResumesExactly(t *testing.T) {
	spec := shardSpec(packedMNIST(t))
	const world = 2
	// 8,000 samples / 24 = 333 steps per epoch: 340 steps cross into epoch 1.
	straight := train(t, spec, world, steps(340))
	resumed := resumeAfter(t, spec, world, 170, 170)
	if !testutil.BitsEqual(resumed, straight) {
		t.Fatal("the resumed run differs from the uninterrupted one")
	}
	resumed = resumeAfter(t, spec, world, 330, 10) // resumed 3 steps before the epoch ends
	if !testutil.BitsEqual(resumed, straight) {
		t.Fatal("resumed at the end of an epoch, the run differs from the uninterrupted one")
	}
}

// A damaged training record stops the step with the file and the byte
// offset (data.on_error: fail); with skip the run trains on, and the
// damage is counted.
func TestShardOnError(t *testing.T) {
	dir := packedMNIST(t)
	m, err := data.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range m.Train {
		path := filepath.Join(dir, e.File)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b[data.ShardHeaderSize+5*(8+784)+300] ^= 0x40 // record 5
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	spec := shardSpec(dir)
	c, err := LoadData(spec)
	if err != nil {
		t.Fatal(err)
	}
	src, err := newShardSource(c.Shards, 24, 1, false, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	x, y := make([]float32, 24*784), make([]int32, 24)
	err = src.fillCtx(context.Background(), data.Cursor{}, 0, 1, x, y)
	var se *data.ShardError
	if !errors.As(err, &se) || !strings.HasPrefix(se.Path, dir) || se.Offset != data.ShardHeaderSize+5*(8+784) || !strings.Contains(err.Error(), "on_error: skip") {
		t.Fatalf("got %v: want the shard's path and the offset of record 5", err)
	}
	t.Log(err)
	skip, err := newShardSource(c.Shards, 24, 1, true, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer skip.Close()
	for s := range 40 {
		if err := skip.fill(data.Cursor{Step: s}, 0, 1, x, y); err != nil {
			t.Fatal(err)
		}
	}
	if skip.skipped < 2 {
		t.Fatalf("%d damaged records counted: want one per shard read", skip.skipped)
	}
	spec.Data.OnError = "skip"
	train(t, spec, 2, steps(30))
}

// A context cancelled while the step waits for the disk ends the wait.
func TestShardFillCancelled(t *testing.T) {
	c, err := LoadData(shardSpec(packedMNIST(t)))
	if err != nil {
		t.Fatal(err)
	}
	src, err := newShardSource(c.Shards, 24, 1, false, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = src.fillCtx(ctx, data.Cursor{}, 0, 1, make([]float32, 24*784), make([]int32, 24))
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}

// A source reads every shard into the same two buffers, across shards,
// restarts and epochs: resident data stays at two shards (a buffer is
// reallocated only when a larger shard than it held comes).
func TestShardSourceReusesTwoBuffers(t *testing.T) {
	c, err := LoadData(shardSpec(packedMNIST(t)))
	if err != nil {
		t.Fatal(err)
	}
	src, err := newShardSource(c.Shards, 24, 1, false, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	x, y := make([]float32, 12*784), make([]int32, 12)
	seen := map[*byte]bool{}
	for epoch := range 3 {
		for s := range src.stepsPerEpoch() {
			if err := src.fill(data.Cursor{Epoch: epoch, Step: s}, 1, 2, x, y); err != nil {
				t.Fatal(err)
			}
			if src.cur != nil { // nil after an epoch's last step: the next epoch's stream started
				seen[&src.cur.shard.Bytes[0]] = true
			}
		}
	}
	if len(seen) > 2*shardBuffers {
		t.Fatalf("%d distinct shard buffers over 3 epochs of %d shards: want at most %d", len(seen), len(c.Shards.Manifest.Train), 2*shardBuffers)
	}
	t.Logf("%d buffers for %d shard reads", len(seen), 3*len(c.Shards.Manifest.Train)/2)
}

// Resumed mid-epoch on another number of workers, a shards run trains on:
// the rest of the epoch is dealt by the new world's segments (each rank's
// batches are the plan's for the new world, TestShardSourceMatchesPlan),
// and the next epoch starts as it would on that world.
func TestShardResumeOnAnotherWorld(t *testing.T) {
	spec := shardSpec(packedMNIST(t))
	spec.Train.Optimizer = job.Optimizer{Name: "sgd"} // no optimizer state to reshard here (restore_test does that)
	var params []float32
	var cursor data.Cursor
	train(t, spec, 2, func(ctx context.Context, tr *Trainer) error {
		if err := steps(170)(ctx, tr); err != nil {
			return err
		}
		if tr.rank == 0 {
			params, cursor = slices.Clone(tr.Params()), tr.cursor
		}
		return nil
	})
	var losses []float32
	var mu sync.Mutex
	train(t, spec, 3, func(ctx context.Context, tr *Trainer) error {
		if err := tr.Restore(params, map[string][]float32{}, 170, 170, cursor); err != nil {
			return err
		}
		for range 200 { // into epoch 1 (333 steps an epoch)
			loss, _, err := tr.Step(ctx)
			if err != nil {
				return err
			}
			mu.Lock()
			losses = append(losses, loss)
			mu.Unlock()
		}
		if tr.cursor.Epoch != 1 {
			return fmt.Errorf("cursor %+v after 370 steps: want epoch 1", tr.cursor)
		}
		return nil
	})
	for _, l := range losses {
		if math.IsNaN(float64(l)) || l > 5 {
			t.Fatalf("loss %v after resuming on 3 workers", l)
		}
	}
}

// A fill cut short by its context leaves the source able to deal the same
// cursor again, exactly.
func TestShardFillRetriesAfterCancel(t *testing.T) {
	c, err := LoadData(shardSpec(packedMNIST(t)))
	if err != nil {
		t.Fatal(err)
	}
	mk := func() *shardSource {
		src, err := newShardSource(c.Shards, 24, 1, false, slog.Default())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { src.Close() })
		return src
	}
	a, b := mk(), mk()
	x, y := make([]float32, 24*784), make([]int32, 24)
	wx, wy := make([]float32, 24*784), make([]int32, 24)
	// The step whose batch holds the epoch's first shard boundary.
	_, prefix := a.plan.Order(0)
	step := int(prefix[1] / 24)
	for s := range step {
		if err := a.fill(data.Cursor{Step: s}, 0, 1, x, y); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = a.fillCtx(ctx, data.Cursor{Step: step}, 0, 1, x, y) // cut short at the boundary, or finished
	if err := a.fill(data.Cursor{Step: step}, 0, 1, x, y); err != nil {
		t.Fatal(err)
	}
	if err := b.fill(data.Cursor{Step: step}, 0, 1, wx, wy); err != nil {
		t.Fatal(err)
	}
	if !testutil.BitsEqual(x, wx) || !slicesEqual(y, wy) {
		t.Fatal("the batch dealt again after a cancelled fill differs")
	}
}
