package worker

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/internal/imagetree"
	"github.com/ringtrain/ringtrain/job"
)

// augmentSpec is testSpec with data.augment on.
func augmentSpec() job.Spec {
	s := testSpec("adamw")
	s.Data.Augment = job.Augment{CropPadding: 3, Flip: true}
	return s
}

// Augmentation draws from (seed, epoch, sample) alone: it changes the
// training, and 2 or 3 workers still compute what 1 does.
func TestAugmentIsWorldSizeIndependent(t *testing.T) {
	spec := augmentSpec()
	one := train(t, spec, 1, steps(12))
	plain := train(t, testSpec("adamw"), 1, steps(12))
	if relDiff(one, plain) < 1e-4 {
		t.Fatalf("augmentation changed nothing (relative difference %.2e)", relDiff(one, plain))
	}
	for _, world := range []int{2, 3} {
		if d := relDiff(train(t, spec, world, steps(12)), one); d > 1e-5 {
			t.Fatalf("world %d: relative difference %.2e to 1 worker", world, d)
		}
	}
	if d := relDiff(train(t, spec, 1, steps(12)), one); d != 0 {
		t.Fatalf("two runs differ: %.2e", d)
	}
}

// A checkpoint of an augmented run restores, and the run goes on as if
// uninterrupted (snapshotRoundTrip).
func TestAugmentResumes(t *testing.T) {
	snapshotRoundTrip(t, augmentSpec(), 2, []restorer{{"cpu", 2}, {"cpu", 1}})
}

func TestAugmentNeedsImages(t *testing.T) {
	spec := augmentSpec()
	c := &Corpus{Train: &data.Dataset{Name: "flat", N: 100, Dim: 2, Shape: []int{2}, X: make([]float32, 200), Y: make([]int32, 100), Classes: 2}}
	if _, _, err := newSource(spec, c); err == nil || !strings.Contains(err.Error(), "data.augment needs images") {
		t.Fatalf("error %v", err)
	}
}

// A source images job loads through LoadDataWith: class names reach the
// model spec, progress is reported, skipped files are logged.
func TestLoadImages(t *testing.T) {
	tr, te := mnist(t)
	root := t.TempDir()
	if err := imagetree.Write(root, map[string]*data.Dataset{"train": tr, "test": te}, imagetree.Options{Limit: 200}); err != nil {
		t.Fatal(err)
	}
	spec, err := job.Parse([]byte("data: {source: images, path: " + root + ", on_error: skip, image: {size: 20, channels: 3}}\nmodel: {kind: cnn}\n"))
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	calls := 0
	c, err := LoadDataWith(spec, LoadOptions{Ctx: context.Background(), Logger: slog.New(slog.NewTextHandler(&log, nil)), Progress: func(done, total int) { calls++ }})
	if err != nil {
		t.Fatal(err)
	}
	if c.Train.N != 200 || c.Test.N != 200 || calls != 400 || !strings.Contains(log.String(), "images loaded") {
		t.Fatalf("train %d test %d progress calls %d log %s", c.Train.N, c.Test.N, calls, log.String())
	}
	ms := modelSpec(spec, c)
	if len(ms.ClassNames) != 10 || ms.ClassNames[3] != "3" || ms.Input[0] != 3 || ms.Input[1] != 20 {
		t.Fatalf("model spec %+v", ms)
	}
	if err := ms.Validate(); err != nil {
		t.Fatal(err)
	}
}
