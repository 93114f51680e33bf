package worker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/job"
)

// LoadOptions are LoadDataWith's: the context a long load stops with, its
// log (warnings such as skipped files), and its progress.
type LoadOptions struct {
	// Ctx cancels a long load; nil = context.Background().
	Ctx context.Context
	// Logger, nil = none.
	Logger *slog.Logger
	// Progress, if set, is called with the items loaded so far and the
	// total (LoadUnit says what they are: images, CSV bytes, test
	// samples), from the loading goroutine. Without it, a load that
	// reports progress logs a line every LogEvery (default 5 s).
	Progress func(done, total int)
	// LogEvery is the interval of the progress lines logged without a
	// Progress; 0 = 5 s.
	LogEvery time.Duration
}

// LoadUnit is what LoadOptions.Progress counts for the job's data
// source, or "" for a source that is loaded at once (the embedded data,
// IDX, synthetic data, a text).
func LoadUnit(s job.Spec) string {
	switch s.Data.Source {
	case "images":
		return "images"
	case "csv":
		return "CSV bytes"
	case "shards":
		return "test samples"
	}
	return ""
}

// progress is o.Progress, or else a function that logs the progress of
// loading what at most every LogEvery (the first line after LogEvery, so
// a short load logs nothing).
func (o LoadOptions) progress(what string) func(done, total int) {
	if o.Progress != nil {
		return o.Progress
	}
	log, every := o.log(), o.LogEvery
	if every <= 0 {
		every = 5 * time.Second
	}
	last := time.Now()
	return func(done, total int) {
		if now := time.Now(); now.Sub(last) >= every {
			last = now
			log.Info("loading "+what, "done", done, "total", total, "percent", fmt.Sprintf("%.0f", 100*float64(done)/float64(max(total, 1))))
		}
	}
}

func (o LoadOptions) ctx() context.Context {
	if o.Ctx == nil {
		return context.Background()
	}
	return o.Ctx
}

func (o LoadOptions) log() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o.Logger
}

// loadImages loads a source images job's folder (data.LoadImageFolder):
// skipped and ignored files are a warning, and without a Progress the log
// tells the progress every 5 s of a long load.
func loadImages(s job.Spec, o LoadOptions) (train, test *data.Dataset, err error) {
	log := o.log()
	progress := o.progress("images")
	im := s.Data.Image
	start := time.Now()
	train, test, rep, err := data.LoadImageFolder(o.ctx(), s.Data.Path, data.ImageOptions{
		Size: im.Size, Channels: im.Channels, Resize: im.Resize, Skip: s.Data.OnError == "skip", Progress: progress})
	if err != nil {
		return nil, nil, err
	}
	if rep.Skipped > 0 {
		first := make([]string, len(rep.Errors))
		for i, e := range rep.Errors {
			first[i] = e.Error()
		}
		log.Warn("skipped images that do not decode (data.on_error: skip)", "skipped", rep.Skipped, "first", first)
	}
	if rep.Ignored > 0 {
		log.Info("ignored files that are not images by their extension", "ignored", rep.Ignored)
	}
	log.Info("images loaded", "train", train.N, "test", test.N, "shape", train.Shape, "classes", len(train.ClassNames), "wall", time.Since(start).Round(time.Millisecond))
	return train, test, nil
}

// augmenter applies data.augment to the training samples a rank is dealt.
type augmenter struct {
	data.Augment
	seed    uint64
	scratch []float32
}

func newAugmenter(s job.Spec) augmenter {
	return augmenter{Augment: data.Augment{CropPadding: s.Data.Augment.CropPadding, Flip: s.Data.Augment.Flip}, seed: s.Seed}
}

// apply augments the samples idx (dataset indices) gathered into x at
// cursor c: sample i's draws depend on (seed, epoch, i) alone.
func (a *augmenter) apply(c data.Cursor, idx []int, x []float32, ds *data.Dataset) {
	if !a.Enabled() {
		return
	}
	for j, i := range idx {
		a.scratch = a.Augment.Apply(x[j*ds.Dim:(j+1)*ds.Dim], ds.Shape, a.seed, c.Epoch, i, a.scratch)
	}
}
