package worker

import (
	"context"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/internal/testutil"
	"github.com/ringtrain/ringtrain/job"
)

var (
	textOnce sync.Once
	textData *data.Text
	textErr  error
)

// corpusFor is the data of spec's kind: the embedded tiny Shakespeare for
// a language model, MNIST-10k otherwise.
func corpusFor(t testing.TB, spec job.Spec) *Corpus {
	if spec.Data.Source == "shards" {
		c, err := LoadData(spec)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if !spec.Model.Sequence() {
		return mnistCorpus(t)
	}
	textOnce.Do(func() { textData, textErr = data.Shakespeare() })
	if textErr != nil {
		t.Fatal(textErr)
	}
	return &Corpus{Text: textData}
}

// textSpec is a tiny language model of kind on tiny Shakespeare.
func textSpec(kind string) job.Spec {
	s := job.Default()
	s.Data.Source = "shakespeare"
	s.Model = job.Model{Kind: kind, Loss: "xent", Context: 16, Embed: 16, Blocks: 2, Heads: 2, Device: "cpu"}
	if kind != "transformer" {
		s.Model.Hidden = []int{24, 20}
		s.Model.Blocks, s.Model.Heads = 0, 0
	}
	s.Train.GlobalBatch = 12 // divisible by 1, 2, 3, 4
	s.Train.Steps = 20
	s.Train.ReportEvery = 5
	s.Train.Optimizer = job.Optimizer{Name: "adamw", Beta1: 0.9, Beta2: 0.99, WeightDecay: 0.1}
	s.Train.LR = job.LRSchedule{Kind: "constant", Base: 3e-3}
	s.Train.ClipNorm = 1
	s.Eval.Windows = 24
	return s
}

// A language model on N workers makes the update of one worker on the whole
// batch, and every rank agrees bitwise (checked by train).
func TestTextWorldSizeEquivalence(t *testing.T) {
	for _, kind := range []string{"transformer", "lstm", "gru"} {
		spec := textSpec(kind)
		one := train(t, spec, 1, steps(10))
		if d := relDiff(one, train(t, spec, 1, steps(0))); d < 1e-3 {
			t.Fatalf("%s: 10 steps barely moved the parameters (%.2e)", kind, d)
		}
		for _, world := range []int{2, 3} {
			got := train(t, spec, world, steps(10))
			d := relDiff(got, one)
			t.Logf("%s world %d: relative difference to 1 worker %.2e", kind, world, d)
			if d > 1e-5 {
				t.Fatalf("%s world %d: relative difference %.2e > 1e-5", kind, world, d)
			}
		}
	}
}

// A language model resumed from a snapshot continues bitwise as the
// uninterrupted run (the windows of a step depend on the step alone), with
// dropout too (its masks depend on the seed, step and rank alone).
func TestTextResumesExactly(t *testing.T) {
	spec := textSpec("transformer")
	spec.Model.Dropout = 0.1
	const world = 2
	straight := train(t, spec, world, steps(8))
	resumed := resumeAfter(t, spec, world, 3, 5)
	if !testutil.BitsEqual(resumed, straight) {
		t.Fatal("resumed run differs from the uninterrupted one")
	}
}

// Evaluation of a language model: the validation loss per token, the same
// on 1 and 3 workers (the windows are shared, the sums all-reduced), and
// about ln(vocab) before training.
func TestTextEvaluate(t *testing.T) {
	spec := textSpec("transformer")
	var one, three float64
	for _, world := range []int{1, 3} {
		train(t, spec, world, func(ctx context.Context, tr *Trainer) error {
			loss, acc, err := tr.Evaluate(ctx)
			if err != nil {
				return err
			}
			if tr.rank == 0 {
				if world == 1 {
					one = loss
				} else {
					three = loss
				}
				if tr.EvalSamples() != spec.Eval.Windows || acc < 0 || acc > 1 {
					t.Errorf("world %d: %d windows, accuracy %v", world, tr.EvalSamples(), acc)
				}
			}
			return nil
		})
	}
	if math.Abs(one-three) > 1e-4*one {
		t.Fatalf("validation loss %v on 1 worker, %v on 3", one, three)
	}
	if want := math.Log(65); math.Abs(one-want) > 0.3 {
		t.Fatalf("validation loss at init %v, want about ln(65) = %v", one, want)
	}
}

// Weight decay skips the tensors of fewer than two dimensions.
func TestNoDecayRanges(t *testing.T) {
	spec := textSpec("lstm")
	group(t, spec, 1, func(_ int, tr *Trainer) error {
		layout := tr.model.Layout()
		got := noDecay(layout, 0, len(tr.model.Params()))
		var want [][2]int
		for _, l := range layout {
			if len(l.Shape) < 2 {
				want = append(want, [2]int{l.Offset, l.Offset + l.Size()})
			}
		}
		// Adjacent ranges merge: compare covered elements.
		cover := func(r [][2]int) []int {
			var out []int
			for _, x := range r {
				for i := x[0]; i < x[1]; i++ {
					out = append(out, i)
				}
			}
			return out
		}
		if !slices.Equal(cover(got), cover(want)) || len(got) == 0 {
			t.Errorf("no-decay ranges %v, want the 1-D tensors %v", got, want)
		}
		// A shard that starts inside a bias: shard-relative ranges.
		lo, hi := want[0][0]+1, want[0][1]+500
		var shard []int
		for _, i := range cover(want) {
			if i >= lo && i < hi {
				shard = append(shard, i-lo)
			}
		}
		if r := noDecay(layout, lo, hi); !slices.Equal(cover(r), shard) {
			t.Errorf("shard [%d, %d): %v, want the elements %v", lo, hi, r, shard)
		}
		return nil
	})
}

// The example jobs of docs/examples build their models: the job's
// defaults for keys another kind uses (a transformer's layers, an lstm's
// widths) do not leak into the model.
func TestExampleLanguageJobs(t *testing.T) {
	for _, name := range []string{"shakespeare-gpt", "shakespeare-lstm"} {
		spec, err := job.Load("../docs/examples/" + name + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		spec.Train.GlobalBatch = 2
		group(t, spec, 1, func(_ int, tr *Trainer) error {
			ms := tr.model.Spec()
			if ms.Kind != spec.Model.Kind || ms.Classes != 65 || len([]rune(ms.Vocab)) != 65 || ms.Targets() != 64 {
				t.Errorf("%s: model %+v", name, ms)
			}
			return nil
		})
	}
}
