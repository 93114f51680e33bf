package job

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDefaultIsValidAndRoundTrips(t *testing.T) {
	d := Default()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	b, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	b2, _ := back.Marshal()
	if Hash(b) != Hash(b2) {
		t.Fatalf("round trip changed the spec:\n%s\n---\n%s", b, b2)
	}
}

func TestParseOverridesDefaults(t *testing.T) {
	s, err := Parse([]byte(`
name: fashion
model: {kind: cnn}
data: {source: idx, path: /data/fashion}
train:
  global_batch: 128
  steps: 300
  optimizer: {name: sgd, momentum: 0.9, nesterov: true}
  lr: {kind: step, base: 0.1, step_every: 100, gamma: 0.5}
cluster: {min_workers: 2, max_workers: 8, settle: 3s}
`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Model.Kind != "cnn" || len(s.Model.Hidden) != 2 || s.Train.GlobalBatch != 128 || s.Cluster.Settle != 3*time.Second ||
		s.Train.Optimizer.Beta2 != 0.999 || s.Seed != 1 {
		t.Fatalf("%+v", s)
	}
}

func TestBadInputNamesTheKey(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"modle: {kind: mlp}", "field modle not found"},
		{"model: {kind: transformer}", "model.kind"},
		{"model: {hidden: [64, 0]}", "model.hidden[1]"},
		{"train: {global_batch: 0}", "train.global_batch"},
		{"train: {optimizer: {name: lion}}", "train.optimizer.name"},
		{"train: {optimizer: {name: adamw, nesterov: true}}", "train.optimizer.nesterov"},
		{"train: {lr: {base: -1}}", "train.lr.base"},
		{"train: {lr: {kind: step}}", "train.lr"},
		{"train: {epochs: 0}", "train.epochs"},
		{"cluster: {min_workers: 4, max_workers: 2}", "cluster.max_workers"},
		{"cluster: {compress: int8}", `cluster.compress: must be none, bf16 or fp16, got "int8"`},
		{"cluster: {shm: on}", `cluster.shm: must be auto or off, got "on"`},
		{"cluster: {replicate_every: -1}", "cluster.replicate_every: must be 0 (off)"},
		{"data: {source: shards, path: x, normalize: standard}", `data.normalize: standard: not available for data.source shards yet`},
		{"data: {source: shards, path: x, val_fraction: 0.1}", `data.val_fraction: not available for data.source shards`},
		{"checkpoint: {max_failures: 0}", "checkpoint.max_failures"},
		{"cluster: {settle: soon}", "line 1: cannot unmarshal !!str `soon` into time.Duration"},
		{"data: {source: csv}", "data.path"},
		{"data: {source: shards}", "data.path: required for source shards"},
		{"data: {on_error: ignore}", `data.on_error: "ignore" is not one of ["fail" "skip"]`},
		{"data: {prefetch: 3}", "data.prefetch: must be in 0..2 (training batches filled ahead of the step; 0: off), got 3"},
		{"data: {prefetch: -1}", "data.prefetch: must be in 0..2"},
		{"data: {source: synthetic, synthetic: {classes: 1}}", "data.synthetic.classes"},
		{"model: {kind: cnn}\ndata: {source: synthetic}", "cnn needs image data"},
		{"model: {kind: transformer}", "model.kind: transformer is a language model: it needs data.source text, shakespeare or shards (packed from a text), not default"},
		{"data: {source: shakespeare}", "data.source: shakespeare is text, for model.kind transformer, lstm or gru, not mlp"},
		{"data: {source: text}\nmodel: {kind: lstm}", "data.path: required for source text"},
		{"data: {source: shakespeare}\nmodel: {kind: transformer, heads: 3}", "model.heads: must be at least 1 and divide model.embed 128, got 3"},
		{"data: {source: shakespeare}\nmodel: {kind: transformer, hidden: [8]}", "model.hidden: does not apply to a transformer"},
		{"data: {source: shakespeare}\nmodel: {kind: transformer, loss: mse}", "model.loss: a language model trains on xent"},
		{"data: {source: shakespeare}\nmodel: {kind: transformer, context: 0}", "model.context: must be in 1..65536, got 0"},
		{"data: {source: shakespeare}\nmodel: {kind: transformer, dropout: 1}", "model.dropout: must be in [0, 1), got 1"},
		{"data: {source: shakespeare}\nmodel: {kind: transformer, blocks: 0}", "model.blocks: must be in 1..1024, got 0"},
		{"data: {source: shakespeare}\nmodel: {kind: gru, hidden: []}", "model.hidden: gru needs 1..16 recurrent layer widths, got 0"},
		{"data: {source: shakespeare}\nmodel: {kind: lstm, dropout: 0.1}", "model.dropout: dropout and bias are transformer settings, not lstm's"},
		{"eval: {windows: 0}", "eval.windows: must be in 1..1048576, got 0"},
		{"train: {global_batch: [1]}", "line 1: cannot unmarshal !!seq into int"},
		{"name: a\n---\nname: b", "more than one"},
		{"\t:", "job spec"},
	} {
		_, err := Parse([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want it to mention %q", tc.yaml, err, tc.want)
		}
	}
}

// Language-model jobs get their kind's defaults: recurrent widths for
// lstm and gru, no hidden sizes for the transformer.
func TestSequenceDefaults(t *testing.T) {
	for _, tc := range []struct {
		doc    string
		hidden []int
	}{
		{"data: {source: shakespeare}\nmodel: {kind: lstm}", []int{256, 256}},
		{"data: {source: shakespeare}\nmodel: {kind: gru, hidden: [64]}", []int{64}},
		{"data: {source: shakespeare}\nmodel: {kind: transformer}", nil},
		{"data: {source: shakespeare}\nmodel: {kind: transformer, device: emu}", nil},
	} {
		s, err := Parse([]byte(tc.doc))
		if err != nil {
			t.Fatalf("%q: %v", tc.doc, err)
		}
		if !slices.Equal(s.Model.Hidden, tc.hidden) || s.Model.Context != 64 || s.Model.Embed != 128 || !s.Model.Sequence() {
			t.Errorf("%q: model %+v, want hidden %v, context 64, embed 128", tc.doc, s.Model, tc.hidden)
		}
		if s.Name != "shakespeare-"+s.Model.Kind {
			t.Errorf("%q: name %q", tc.doc, s.Name)
		}
	}
}

func TestWorldSize(t *testing.T) {
	s := Default()
	s.Train.GlobalBatch = 60
	s.Cluster.MinWorkers, s.Cluster.MaxWorkers = 2, 8
	for _, tc := range []struct{ avail, want int }{{1, 0}, {2, 2}, {3, 3}, {4, 4}, {7, 6}, {9, 6}, {100, 6}} {
		got, ok := s.WorldSize(tc.avail)
		if got != tc.want || ok != (tc.want > 0) {
			t.Errorf("available %d: %d %v, want %d", tc.avail, got, ok, tc.want)
		}
	}
}

// The README's job spec block (every key with its default) parses and
// equals the built-in default: the documentation cannot drift.
func TestREADMEJobSpecIsTheDefault(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "```yaml\nname: mnist-mlp")
	if start < 0 {
		t.Fatal("README has no job spec block")
	}
	block := text[start+len("```yaml\n"):]
	block = block[:strings.Index(block, "```")]
	s, err := Parse([]byte(block))
	if err != nil {
		t.Fatalf("README job spec: %v", err)
	}
	got, _ := s.Marshal()
	want, _ := Default().Marshal()
	if string(got) != string(want) {
		t.Fatalf("README job spec differs from the default:\n%s\n---\n%s", got, want)
	}
}
