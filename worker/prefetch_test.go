package worker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/internal/imagetree"
	"github.com/ringtrain/ringtrain/internal/testutil"
	"github.com/ringtrain/ringtrain/job"
)

// packedSmall packs the first 480 MNIST-10k training samples (and 96 test
// samples) into shards of 16 KiB (20 samples each, 24 training shards): at
// a global batch of 24 an epoch is 20 steps.
func packedSmall(t testing.TB) string {
	t.Helper()
	tr, te := mnist(t)
	tr, _ = split(tr, 480)
	te, _ = split(te, 96)
	dir := filepath.Join(t.TempDir(), "shards")
	if _, err := data.PackDatasets(dir, tr, te, data.PackOptions{DType: data.ShardUint8, InputScale: 1.0 / 255, ShardBytes: 16 << 10}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// prefetchCase is a source of each kind, as a job and its data.
type prefetchCase struct {
	name   string
	spec   job.Spec
	corpus *Corpus
}

// prefetchCases: data in memory, an image folder with augmentation, a
// text, shards, and a text packed into shards of token windows, each small
// enough that a few tens of steps cross epochs (but the texts').
func prefetchCases(t *testing.T) []prefetchCase {
	t.Helper()
	tr, te := mnist(t)
	small, _ := split(tr, 480)
	root := t.TempDir()
	if err := imagetree.Write(root, map[string]*data.Dataset{"train": tr, "test": te}, imagetree.Options{Limit: 200, JPEGEvery: 3}); err != nil {
		t.Fatal(err)
	}
	images := testSpec("adamw")
	images.Data.Source, images.Data.Path = "images", root
	images.Data.Augment = job.Augment{CropPadding: 3, Flip: true}
	shards := shardSpec(packedSmall(t))
	tokenDir, _ := packedShakespeare(t)
	var cases []prefetchCase
	for _, c := range []struct {
		name string
		spec job.Spec
	}{{"in-memory", testSpec("adamw")}, {"images-augment", images}, {"text", textSpec("lstm")}, {"shards", shards},
		{"text-shards", textShardSpec("lstm", tokenDir)}} {
		var corpus *Corpus
		switch c.name {
		case "in-memory":
			corpus = &Corpus{Train: small, Test: te}
		case "images-augment", "shards", "text-shards":
			var err error
			if corpus, err = LoadData(c.spec); err != nil {
				t.Fatal(err)
			}
		default:
			corpus = corpusFor(t, c.spec)
		}
		cases = append(cases, prefetchCase{c.name, c.spec, corpus})
	}
	return cases
}

// trainOn is train on a corpus of the caller's.
func trainOn(t *testing.T, spec job.Spec, corpus *Corpus, world int, run func(ctx context.Context, tr *Trainer) error) []float32 {
	t.Helper()
	params := make([][]float32, world)
	groupOn(t, spec, corpus, world, func(r int, tr *Trainer) error {
		if err := run(context.Background(), tr); err != nil {
			return err
		}
		params[r] = slices.Clone(tr.Params())
		return nil
	})
	for r := 1; r < world; r++ {
		if !testutil.BitsEqual(params[r], params[0]) {
			t.Fatalf("world %d: rank %d's parameters differ from rank 0's", world, r)
		}
	}
	return params[0]
}

// prefetched runs n steps and checks that every batch after the first was
// the one prefetched (with data.prefetch > 0).
func prefetched(n int) func(context.Context, *Trainer) error {
	return func(ctx context.Context, tr *Trainer) error {
		if err := steps(n)(ctx, tr); err != nil {
			return err
		}
		if tr.pf == nil {
			return nil
		}
		if p := tr.pf; p.hits != n-1 || p.filled != 1 || p.discarded != 0 {
			return fmt.Errorf("%d steps: %d batches prefetched, %d filled by the step, %d discarded: want %d, 1, 0", n, p.hits, p.filled, p.discarded, n-1)
		}
		return nil
	}
}

// The prefetcher deals exactly the batches the step would fill itself, for
// every source, over epoch boundaries, a jump of the cursor (a restore), a
// change of rank and a step asked again (after a failure): the batches in
// flight for another key are discarded, not used. A reference source of
// the same job, filled synchronously, is the dumb reference.
func TestPrefetcherDealsTheSynchronousBatches(t *testing.T) {
	for _, c := range prefetchCases(t) {
		for _, depth := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/depth%d", c.name, depth), func(t *testing.T) {
				src, _, err := newSource(c.spec, c.corpus)
				if err != nil {
					t.Fatal(err)
				}
				defer closeSource(src)
				ref, _, err := newSource(c.spec, c.corpus)
				if err != nil {
					t.Fatal(err)
				}
				defer closeSource(ref)
				const world = 2
				b := c.spec.Train.GlobalBatch / world
				ms := modelSpec(c.spec, c.corpus)
				x, y := make([]float32, b*ms.InputSize()), make([]int32, b*ms.Targets())
				p := newPrefetcher(src, depth, slices.Clone(x), slices.Clone(y))
				defer p.close()
				spe := src.stepsPerEpoch()
				var keys []batchKey
				run := func(rank int, from data.Cursor, n int) {
					for range n {
						keys = append(keys, batchKey{cursor: from, rank: rank, world: world})
						from = from.Advance(spe)
					}
				}
				run(0, data.Cursor{Step: spe - 3}, 6)            // into epoch 1
				run(0, data.Cursor{Epoch: 4, Step: 17 % spe}, 3) // a restore
				run(1, data.Cursor{Epoch: 4, Step: 20 % spe}, 3) // the other rank
				keys = append(keys, keys[len(keys)-1])           // asked again
				for i, k := range keys {
					got, err := p.get(context.Background(), k)
					if err != nil {
						t.Fatalf("batch %d %+v: %v", i, k, err)
					}
					p.ahead(k)
					if err := fillSource(context.Background(), ref, k.cursor, k.rank, k.world, x, y); err != nil {
						t.Fatal(err)
					}
					if !testutil.BitsEqual(got.x, x) || !slices.Equal(got.y, y) {
						t.Fatalf("batch %d %+v: the prefetched batch is not the one filled synchronously", i, k)
					}
				}
				// Filled by get: the first, after the jump, on the other rank, asked again.
				if p.filled != 4 || p.discarded != 3*depth || p.hits != len(keys)-4 {
					t.Fatalf("%d batches prefetched, %d filled by get, %d discarded: want %d, 4, %d", p.hits, p.filled, p.discarded, len(keys)-4, 3*depth)
				}
			})
		}
	}
}

// Training with batches prefetched, one or two ahead, ends with the
// parameters of training without, bitwise, for every source, across epoch
// boundaries, on 2 workers.
func TestPrefetchTrainsTheSame(t *testing.T) {
	for _, c := range prefetchCases(t) {
		n := 45 // 2 epoch boundaries at 20 steps an epoch (images: 8, so 5)
		if strings.HasPrefix(c.name, "text") {
			n = 12
		}
		var want []float32
		for _, depth := range []int{0, 1, 2} {
			spec := c.spec
			spec.Data.Prefetch = depth
			got := trainOn(t, spec, c.corpus, 2, prefetched(n))
			if depth == 0 {
				want = got
				if d := relDiff(got, trainOn(t, spec, c.corpus, 2, steps(0))); d < 1e-3 {
					t.Fatalf("%s: %d steps barely moved the parameters (%.2e)", c.name, n, d)
				}
				continue
			}
			if !testutil.BitsEqual(got, want) {
				t.Fatalf("%s: data.prefetch %d trains other parameters than data.prefetch 0", c.name, depth)
			}
		}
	}
}

// A trainer restored to an earlier cursor while batches are prefetched for
// the next ones discards them: the steps after the restore repeat the
// steps after the snapshot bitwise (across an epoch boundary, on shards).
func TestPrefetchRestoreDiscardsStale(t *testing.T) {
	spec := shardSpec(packedSmall(t))
	spec.Data.Prefetch = 2
	trainOn(t, spec, corpusFor(t, spec), 2, func(ctx context.Context, tr *Trainer) error {
		if err := steps(17)(ctx, tr); err != nil {
			return err
		}
		params := slices.Clone(tr.Params())
		states := map[string][]float32{}
		for _, s := range tr.opt.State() {
			states[s.Name] = slices.Clone(s.Data)
		}
		optSteps, step, cursor := tr.opt.Steps(), tr.Steps(), tr.cursor
		if err := steps(6)(ctx, tr); err != nil { // into epoch 1
			return err
		}
		first := slices.Clone(tr.Params())
		if err := tr.Restore(params, maps.Clone(states), optSteps, step, cursor); err != nil {
			return err
		}
		if err := steps(6)(ctx, tr); err != nil {
			return err
		}
		if !testutil.BitsEqual(tr.Params(), first) {
			return errors.New("the steps after the restore differ from the steps after the snapshot")
		}
		if tr.pf.discarded != 2 {
			return fmt.Errorf("%d prefetched batches discarded at the restore: want 2", tr.pf.discarded)
		}
		return nil
	})
}

// A run resumed mid-epoch with prefetching, on the same number of workers
// or another (a new generation: new trainers, whose streams start at the
// cursor for their rank and world), goes on bitwise as the run without.
func TestPrefetchResumes(t *testing.T) {
	spec := shardSpec(packedSmall(t))
	spec.Train.Optimizer = job.Optimizer{Name: "sgd"} // no optimizer state to reshard here (restore_test does that)
	off := spec
	off.Data.Prefetch = 0
	straight := train(t, off, 2, steps(33))
	if !testutil.BitsEqual(resumeAfter(t, spec, 2, 13, 20), straight) {
		t.Fatal("resumed mid-epoch with prefetching, the run differs from the uninterrupted one without")
	}
	var params []float32
	var cursor data.Cursor
	train(t, spec, 2, func(ctx context.Context, tr *Trainer) error {
		if err := steps(13)(ctx, tr); err != nil {
			return err
		}
		if tr.rank == 0 {
			params, cursor = slices.Clone(tr.Params()), tr.cursor
		}
		return nil
	})
	for _, world := range []int{3, 1} {
		var want []float32
		for _, s := range []job.Spec{off, spec} {
			got := train(t, s, world, func(ctx context.Context, tr *Trainer) error {
				if err := tr.Restore(params, map[string][]float32{}, 13, 13, cursor); err != nil {
					return err
				}
				return prefetched(20)(ctx, tr)
			})
			if want == nil {
				want = got
			} else if !testutil.BitsEqual(got, want) {
				t.Fatalf("resumed on %d workers, the run with prefetching differs from the run without", world)
			}
		}
	}
}

// A damaged shard (data.on_error: fail) fails the step whose batch needs
// it, naming the file and the byte offset, whether its batch was
// prefetched or not; the steps before it train.
func TestPrefetchShardErrorOnItsStep(t *testing.T) {
	dir := packedSmall(t)
	spec := shardSpec(dir)
	c, err := LoadData(spec)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := data.NewShardPlan(c.Shards.Counts(), spec.Train.GlobalBatch, spec.Seed)
	if err != nil {
		t.Fatal(err)
	}
	order, _ := plan.Order(0)
	bad := order[7] // the 8th shard of epoch 0's stream
	path := filepath.Join(dir, c.Shards.Manifest.Train[bad].File)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[data.ShardHeaderSize+3*(8+784)+100] ^= 0x10 // record 3
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	want := -1 // the first step that deals a sample of the damaged shard (the plan's reference)
	for s := 0; want < 0; s++ {
		ss, err := plan.Samples(data.Cursor{Step: s}, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(ss, func(x data.ShardSample) bool { return x.Shard == bad }) {
			want = s
		}
	}
	for _, depth := range []int{0, 1, 2} {
		spec.Data.Prefetch = depth
		groupOn(t, spec, c, 1, func(_ int, tr *Trainer) error {
			for s := range want + 3 {
				_, _, err := tr.Step(context.Background())
				if err == nil {
					continue
				}
				var se *data.ShardError
				if s != want || !errors.As(err, &se) || se.Path != path || !strings.Contains(err.Error(), path) {
					return fmt.Errorf("data.prefetch %d: step %d failed with %v: want step %d to fail naming %s", depth, s, err, want, path)
				}
				t.Logf("data.prefetch %d, step %d: %v", depth, s, err)
				return nil
			}
			return fmt.Errorf("data.prefetch %d: no step failed (the damaged shard is needed at step %d)", depth, want)
		})
	}
}
