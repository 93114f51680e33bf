package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// tinyLMJob trains a small transformer on the embedded tiny Shakespeare on
// 2 workers, checkpointing, with a resharded resume in mind.
const tinyLMJob = `name: tiny-gpt
data: {source: shakespeare}
model: {kind: transformer, context: 16, embed: 16, blocks: 1, heads: 2}
train: {global_batch: 8, steps: 40, report_every: 10, lr: {kind: constant, base: 0.01}}
eval: {windows: 32}
checkpoint: {every_epochs: 0, every_steps: 20}
`

// TestLanguageModelLaunchAndSample trains a language model with launch
// (its summary is per token), resumes it on another number of workers,
// and samples from the run directory, the checkpoint directory, one
// step and an exported file: the same seed gives the same text from all of
// them, another seed other text; a prompt character outside the
// vocabulary and a classifier's checkpoint are clear errors.
func TestLanguageModelLaunchAndSample(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(cfg, []byte(tinyLMJob), 0o600); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, "run")
	out, stderr, code := cli(t, nil, "launch", "--config", cfg, "--run-dir", run, "--workers", "2")
	if code != 0 {
		t.Fatalf("launch: %d\n%s\n%s", code, out, stderr)
	}
	if !strings.Contains(out, "validation loss") || !strings.Contains(out, "perplexity") {
		t.Fatalf("launch output has no per-token summary:\n%s", out)
	}
	sum, err := os.ReadFile(filepath.Join(run, "summary.json"))
	if err != nil || !strings.Contains(string(sum), `"language_model": true`) {
		t.Fatalf("summary.json: %s %v", sum, err)
	}
	// Resume on 1 worker for 20 more steps: the checkpoint of 2 is resharded.
	more := filepath.Join(dir, "more.yaml")
	if err := os.WriteFile(more, []byte(strings.Replace(tinyLMJob, "steps: 40", "steps: 60", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, code = cli(t, nil, "launch", "--resume", "--run-dir", run, "--workers", "1", "--config", more)
	if code != 0 || !strings.Contains(stderr, "resuming from checkpoint step 40 (epoch 0, written by 2 workers)") {
		t.Fatalf("resume: %d\n%s\n%s", code, out, stderr)
	}
	if s := readSummary(t, run); s.Outcome != "done" || s.Steps != 60 || s.WorldSize != 1 || !s.LanguageModel {
		t.Fatalf("summary after the resume: %+v", s)
	}

	model := filepath.Join(dir, "model.safetensors")
	if o, e, code := cli(t, nil, "checkpoint", "export", filepath.Join(run, "checkpoints"), "--out", model); code != 0 {
		t.Fatalf("export: %s %s", o, e)
	}
	args := []string{"--prompt", "ROMEO:", "--tokens", "80", "--temperature", "0.8", "--top-k", "10", "--seed", "7"}
	var first string
	for _, src := range []string{run, filepath.Join(run, "checkpoints"), model} {
		out, stderr, code := cli(t, nil, append([]string{"sample", src}, args...)...)
		if code != 0 {
			t.Fatalf("sample %s: %d %s", src, code, stderr)
		}
		if !strings.HasPrefix(out, "ROMEO:") || utf8.RuneCountInString(out) != len("ROMEO:")+80+1 {
			t.Fatalf("sample %s: %q, want the prompt and 80 characters", src, out)
		}
		if first == "" {
			first = out
		} else if out != first {
			t.Fatalf("sample %s gives %q, the run directory %q", src, out, first)
		}
	}
	other, _, _ := cli(t, nil, "sample", model, "--prompt", "ROMEO:", "--tokens", "80", "--seed", "8")
	if other == first {
		t.Fatalf("seeds 7 and 8 give the same text %q", first)
	}
	// The step-20 checkpoint is another model.
	step20, _, code := cli(t, nil, append([]string{"sample", filepath.Join(run, "checkpoints", "step-000000000020")}, args...)...)
	if code != 0 || step20 == first {
		t.Fatalf("sample of step 20: %d %q", code, step20)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"sample", model, "--prompt", "ROMEO€"}, `--prompt character 5, '€', is not in the model's vocabulary`},
		{[]string{"sample", model, "--temperature", "0"}, "--temperature 0: want a finite number > 0"},
		{[]string{"sample", model, "--tokens", "0"}, "--tokens 0: want 1..1000000"},
		{[]string{"sample", filepath.Join(dir, "nothing")}, "no such file"},
		{[]string{"sample", cfg}, "not a model file written by ringtrain checkpoint export"},
	} {
		_, stderr, code := cli(t, nil, c.args...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want an error naming %q", c.args, code, stderr, c.want)
		}
	}
}

// A classifier's checkpoint cannot be sampled from.
func TestSampleRefusesAClassifier(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(cfg, []byte("model: {hidden: [16]}\ntrain: {steps: 5}\ncheckpoint: {every_epochs: 0, every_steps: 5}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, "run")
	if out, stderr, code := cli(t, nil, "launch", "--config", cfg, "--run-dir", run, "--workers", "1"); code != 0 {
		t.Fatalf("launch: %s %s", out, stderr)
	}
	_, stderr, code := cli(t, nil, "sample", run)
	if code == 0 || !strings.Contains(stderr, "a mlp model, not a character-level language model") {
		t.Fatalf("sample of an MLP: exit %d, %q", code, stderr)
	}
}
