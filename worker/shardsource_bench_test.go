package worker

import (
	"log/slog"
	"path/filepath"
	"testing"

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
