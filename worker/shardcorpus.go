package worker

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/ringtrain/ringtrain/data"
)

// loadShards reads a shard directory's manifest and loads its test split
// (evaluation reads it whole; the training split is streamed), telling
// progress the test samples read after each shard and log what it skips.
func loadShards(dir string, skip bool, progress func(done, total int), log *slog.Logger) (*data.ShardSet, *data.Dataset, error) {
	m, err := data.ReadManifest(dir)
	if err != nil {
		return nil, nil, err
	}
	set := &data.ShardSet{Dir: dir, Manifest: m}
	if len(m.Test) == 0 {
		return nil, nil, fmt.Errorf("data: shards: %s: the manifest lists no test shards (evaluation needs them)", dir)
	}
	skipped := 0
	test, _, err := data.LoadShardSplitProgress(dir, m, m.Test, dir+"/test", skip, func(err error) {
		skipped++
		log.Warn("data.on_error skip: damaged test data skipped", "err", err, "skipped", skipped)
	}, progress)
	if err != nil {
		return nil, nil, err
	}
	return set, test, nil
}

// trainShape and trainClasses are the training samples' shape and class
// count, from the in-memory set or the shard manifest.
func (c *Corpus) trainShape() []int {
	if c.Shards != nil {
		return c.Shards.Manifest.Shape
	}
	return c.Train.Shape
}

func (c *Corpus) trainClasses() int {
	if c.Shards != nil {
		return c.Shards.Manifest.Classes
	}
	return c.Train.Classes
}

func (c *Corpus) trainClassNames() []string {
	if c.Shards != nil {
		return c.Shards.Manifest.ClassNames
	}
	return c.Train.ClassNames
}

// ctxSource is a source whose fill can block (on a disk) and so takes a
// context.
type ctxSource interface {
	fillCtx(ctx context.Context, c data.Cursor, rank, world int, x []float32, y []int32) error
}

// fillSource fills x and y from src, with ctx when src blocks.
func fillSource(ctx context.Context, src source, c data.Cursor, rank, world int, x []float32, y []int32) error {
	if cs, ok := src.(ctxSource); ok {
		return cs.fillCtx(ctx, c, rank, world, x, y)
	}
	return src.fill(c, rank, world, x, y)
}

// closeSource stops a source's goroutines (shardSource).
func closeSource(src source) error {
	if c, ok := src.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
