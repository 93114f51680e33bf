package worker

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/data"
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

// BenchmarkDataPhase is the data phase of a step with and without
// data.prefetch: the time a step waits for its batch (data-µs/step) when
// the rest of the step computes for 1.7 ms (a CPU kept busy, as the [256]
// MLP's step of docs/benchmarks.md keeps one), from shards of 16 MiB and
// from memory. ns/op is the whole step: the prefetch competes for the CPU.
func BenchmarkDataPhase(b *testing.B) {
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
	const gb, world, compute = 256, 2, 1700 * time.Microsecond
	for _, kind := range []string{"shards", "in-memory"} {
		for _, depth := range []int{0, 1} {
			b.Run(fmt.Sprintf("%s/prefetch%d", kind, depth), func(b *testing.B) {
				var src source
				if kind == "shards" {
					s, err := newShardSource(&data.ShardSet{Dir: dir, Manifest: m}, gb, 1, false, slog.Default())
					if err != nil {
						b.Fatal(err)
					}
					src = s
				} else {
					sampler, err := data.NewSampler(train.N, gb, 1)
					if err != nil {
						b.Fatal(err)
					}
					src = &datasetSource{ds: train, sampler: sampler}
				}
				defer closeSource(src)
				x, y := make([]float32, gb/world*128), make([]int32, gb/world)
				var pf *prefetcher
				if depth > 0 {
					pf = newPrefetcher(src, depth, x, y)
					defer pf.close()
				}
				key := batchKey{world: world}
				var waited time.Duration
				for b.Loop() {
					start := time.Now()
					if pf == nil {
						err = fillSource(context.Background(), src, key.cursor, key.rank, key.world, x, y)
					} else if _, err = pf.get(context.Background(), key); err == nil {
						pf.ahead(key)
					}
					if err != nil {
						b.Fatal(err)
					}
					waited += time.Since(start)
					for t := time.Now(); time.Since(t) < compute; { // the step's computation
					}
					key.cursor = key.cursor.Advance(src.stepsPerEpoch())
				}
				b.ReportMetric(float64(waited.Microseconds())/float64(b.N), "data-µs/step")
			})
		}
	}
}
