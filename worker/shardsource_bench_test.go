package worker

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/job"
	"github.com/ringtrain/ringtrain/telemetry"
	"github.com/ringtrain/ringtrain/transport/mem"
)

// BenchmarkShardFill is a worker's data phase of one step (128 samples of
// 128 float32 features) from shards of 16 MiB, beside the in-memory
// source of the same data; the read-ahead runs in the same process.
func BenchmarkShardFill(b *testing.B) {
	all, err := data.Synthetic(data.SyntheticSpec{N: 202000, Dim: 128, Classes: 4, Seed: 1, Noise: 0.1})
	if err != nil {
		b.Fatal(err)
	}
	train, test := split(all, 200000)
	dir := filepath.Join(b.TempDir(), "s")
	m, err := data.PackDatasets(dir, train, test, data.PackOptions{DType: data.ShardFloat32, InputScale: 1, ShardBytes: 16 << 20})
	if err != nil {
		b.Fatal(err)
	}
	const gb, world = 256, 2
	x, y := make([]float32, gb/world*128), make([]int32, gb/world)
	b.Run("shards", func(b *testing.B) {
		src, err := newShardSource(&data.ShardSet{Dir: dir, Manifest: m}, gb, 1, false, slog.Default())
		if err != nil {
			b.Fatal(err)
		}
		defer src.Close()
		c := data.Cursor{}
		for b.Loop() {
			if err := src.fill(c, 0, world, x, y); err != nil {
				b.Fatal(err)
			}
			c = c.Advance(src.stepsPerEpoch())
		}
	})
	b.Run("in-memory", func(b *testing.B) {
		sampler, err := data.NewSampler(train.N, gb, 1)
		if err != nil {
			b.Fatal(err)
		}
		src := &datasetSource{ds: train, sampler: sampler}
		c := data.Cursor{}
		for b.Loop() {
			if err := src.fill(c, 0, world, x, y); err != nil {
				b.Fatal(err)
			}
			c = c.Advance(src.stepsPerEpoch())
		}
	})
}

// BenchmarkDataPhase is the data phase of a training step with and
// without data.prefetch: the time the step waits for its batch
// (data-µs/step; the trainer's own PhaseData), beside the whole step
// (ns/op: the prefetch competes with the computation for the CPU). One
// worker trains the [256] MLP (docs/benchmarks.md's ~2 ms step) at a
// batch of 128 samples of 128 float32 features, from shards of 16 MiB and
// from memory; data-p50-µs is the median step's wait.
func BenchmarkDataPhase(b *testing.B) {
	all, err := data.Synthetic(data.SyntheticSpec{N: 202000, Dim: 128, Classes: 4, Seed: 1, Noise: 0.1})
	if err != nil {
		b.Fatal(err)
	}
	train, test := split(all, 200000)
	dir := filepath.Join(b.TempDir(), "s")
	if _, err := data.PackDatasets(dir, train, test, data.PackOptions{DType: data.ShardFloat32, InputScale: 1, ShardBytes: 16 << 20}); err != nil {
		b.Fatal(err)
	}
	for _, kind := range []string{"shards", "in-memory"} {
		for _, depth := range []int{0, 1} {
			b.Run(fmt.Sprintf("%s/prefetch%d", kind, depth), func(b *testing.B) {
				spec := job.Default()
				spec.Train.GlobalBatch, spec.Data.Prefetch = 128, depth
				corpus := &Corpus{Train: train, Test: test}
				if kind == "shards" {
					spec.Data.Source, spec.Data.Path = "shards", dir
					if corpus, err = LoadData(spec); err != nil {
						b.Fatal(err)
					}
				}
				comm, err := allreduce.New(mem.NewNetwork(1, 0).Endpoint(0), allreduce.DefaultConfig())
				if err != nil {
					b.Fatal(err)
				}
				defer comm.Close()
				tr, err := NewTrainer(spec, corpus, comm)
				if err != nil {
					b.Fatal(err)
				}
				defer tr.Close()
				if _, _, err := tr.Step(context.Background()); err != nil { // the first shard, the first batch
					b.Fatal(err)
				}
				var waits []time.Duration
				for b.Loop() {
					_, ph, err := tr.Step(context.Background())
					if err != nil {
						b.Fatal(err)
					}
					waits = append(waits, ph[telemetry.PhaseData])
				}
				var sum time.Duration
				for _, w := range waits {
					sum += w
				}
				slices.Sort(waits)
				b.ReportMetric(float64(sum.Nanoseconds())/1e3/float64(len(waits)), "data-µs/step")
				b.ReportMetric(float64(waits[len(waits)/2].Nanoseconds())/1e3, "data-p50-µs")
			})
		}
	}
}
