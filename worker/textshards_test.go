package worker

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/data"
	"github.com/ringtrain/ringtrain/internal/testutil"
	"github.com/ringtrain/ringtrain/job"
)

// packedShakespeare packs the embedded tiny Shakespeare for context 16 in
// shards of about 64 KiB (about 2,600 windows each) and returns the
// directory and the text.
func packedShakespeare(t testing.TB) (string, *data.Text) {
	t.Helper()
	text, err := data.Shakespeare()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "text-shards")
	if _, err := data.PackText(dir, text, 16, data.PackOptions{ShardBytes: 64 << 10}); err != nil {
		t.Fatal(err)
	}
	return dir, text
}

// textShardSpec is textSpec's language model on a token-stream shard
// directory.
func textShardSpec(kind, dir string) job.Spec {
	s := textSpec(kind)
	s.Data.Source, s.Data.Path, s.Data.OnError = "shards", dir, "fail"
	return s
}

// The windows a shards language model is dealt are the packed text's:
// for every rank of several worlds, over an epoch boundary, inputs
// record[0:16] and targets record[1:17] of the plan's records, each
// record the text's tokens from 16 k.
func TestTextShardsDealThePackedText(t *testing.T) {
	dir, text := packedShakespeare(t)
	spec := textShardSpec("transformer", dir)
	c, err := LoadData(spec)
	if err != nil {
		t.Fatal(err)
	}
	if c.TokenVocab == nil || c.TokenVocab.Len() != 65 || c.Test.N != data.TextWindows(len(text.Val), 16) {
		t.Fatalf("vocab %v, %d test windows: want 65 characters and %d", c.TokenVocab, c.Test.N, data.TextWindows(len(text.Val), 16))
	}
	if got, want := data.Samples(c.Shards.Manifest.Train), (len(text.Train)-1)/16; got != want {
		t.Fatalf("%d training windows, want %d", got, want)
	}
	m := c.Shards.Manifest
	base := make([]int, len(m.Train))
	for i := 1; i < len(base); i++ {
		base[i] = base[i-1] + m.Train[i-1].Samples
	}
	const k, gb = 16, 12
	for _, world := range []int{1, 2, 3} {
		for rank := range world {
			src, _, err := newSource(spec, c)
			if err != nil {
				t.Fatal(err)
			}
			ts := src.(*tokenShardSource)
			spe := src.stepsPerEpoch()
			for _, cur := range []data.Cursor{{Step: 0}, {Step: 1}, {Step: spe - 1}, {Epoch: 1, Step: 0}, {Epoch: 3, Step: 77}} {
				b := gb / world
				x, y := make([]float32, b*k), make([]int32, b*k)
				if err := src.fill(cur, rank, world, x, y); err != nil {
					t.Fatal(err)
				}
				ref, err := ts.plan.Samples(cur, rank, world)
				if err != nil {
					t.Fatal(err)
				}
				for i, s := range ref {
					w := data.TextWindow(text.Train, k, base[s.Shard]+s.Record)
					for j := range k {
						if x[i*k+j] != float32(w[j]) || y[i*k+j] != int32(w[j+1]) {
							t.Fatalf("world %d rank %d cursor %+v window %d token %d: got %v -> %d, the text has %d -> %d",
								world, rank, cur, i, j, x[i*k+j], y[i*k+j], w[j], w[j+1])
						}
					}
				}
			}
			if err := closeSource(src); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// A transformer and an lstm train on the packed text: the test loss per
// token starts near ln(65) and falls (on 2 workers, which agree bitwise);
// the model carries the text's vocabulary (sample and export use it).
func TestTextShardsTrain(t *testing.T) {
	dir, text := packedShakespeare(t)
	for _, kind := range []string{"transformer", "lstm"} {
		spec := textShardSpec(kind, dir)
		var before, after float64
		train(t, spec, 2, func(ctx context.Context, tr *Trainer) error {
			b, _, err := tr.Evaluate(ctx) // the same on every rank (all-reduced): rank 0 reports it
			if err != nil {
				return err
			}
			if tr.EvalSamples() != spec.Eval.Windows {
				t.Errorf("%s: %d evaluation windows, want eval.windows %d", kind, tr.EvalSamples(), spec.Eval.Windows)
			}
			if got := tr.model.Spec().Vocab; got != string(text.Vocab.Runes()) {
				t.Errorf("%s: model vocabulary %q, want the text's", kind, got)
			}
			if err := steps(60)(ctx, tr); err != nil {
				return err
			}
			a, _, err := tr.Evaluate(ctx)
			if tr.rank == 0 {
				before, after = b, a
			}
			return err
		})
		t.Logf("%s: test loss per token %.3f before, %.3f after 60 steps", kind, before, after)
		if math.Abs(before-math.Log(65)) > 0.3 || after > before-0.5 {
			t.Fatalf("%s: test loss %.3f -> %.3f: want about ln(65) = %.3f falling by at least 0.5", kind, before, after, math.Log(65))
		}
	}
}

// A shards language model resumed mid-epoch continues bitwise.
func TestTextShardsResumeExactly(t *testing.T) {
	dir, _ := packedShakespeare(t)
	spec := textShardSpec("lstm", dir)
	straight := train(t, spec, 2, steps(8))
	if !testutil.BitsEqual(resumeAfter(t, spec, 2, 3, 5), straight) {
		t.Fatal("the resumed run differs from the uninterrupted one")
	}
}

// A job and a shard directory that do not go together are clear errors.
func TestTextShardsMismatch(t *testing.T) {
	dir, _ := packedShakespeare(t)
	mnistDir := packedMNIST(t)
	ctx := textShardSpec("transformer", dir)
	ctx.Model.Context = 32
	classifier := shardSpec(dir)
	lm := textShardSpec("gru", mnistDir)
	for _, tc := range []struct {
		name string
		spec job.Spec
		want string
	}{
		{"context", ctx, "was packed for model.context 16, but the job's model.context is 32: set model.context: 16, or pack the text again with --context 32"},
		{"classifier", classifier, "is a token stream packed from a text (source text): it trains a language model (model.kind transformer, lstm or gru), not mlp"},
		{"language model", lm, "holds labelled samples (source \"\"), not a token stream: model.kind gru is a language model"},
	} {
		_, err := LoadData(tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}
