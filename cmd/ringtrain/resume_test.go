package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func latestStep(dir string) int64 {
	b, err := os.ReadFile(filepath.Join(dir, "checkpoints", "LATEST"))
	if err != nil {
		return 0
	}
	s, _ := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(string(b)), "step-"), 10, 64)
	return s
}

func export(t *testing.T, dir string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "model.safetensors")
	if o, e, code := cli(t, nil, "checkpoint", "export", filepath.Join(dir, "checkpoints"), "--out", out); code != 0 {
		t.Fatalf("export: %s %s", o, e)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Stop a run after its step-60 checkpoint (or later), resume it: the final
// parameters are bitwise identical to an uninterrupted run's.
func TestResumeSameWorldIsBitwiseIdentical(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "job.yaml")
	os.WriteFile(cfg, []byte("model: {hidden: [1024, 1024]}\ntrain: {steps: 200}\ncheckpoint: {every_epochs: 0, every_steps: 20, keep: 20}\n"), 0o644)
	whole := filepath.Join(dir, "whole")
	if o, e, code := cli(t, nil, "launch", "--config", cfg, "--run-dir", whole); code != 0 {
		t.Fatalf("uninterrupted run: %s\n%s", o, e)
	}
	want := export(t, whole)

	cut := filepath.Join(dir, "cut")
	cmd := exec.Command(binary, "launch", "--config", cfg, "--run-dir", cut)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for latestStep(cut) < 60 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no checkpoint at step 60")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	stopped := latestStep(cut)
	if stopped >= 200 {
		t.Skipf("the run finished (step %d) before it could be stopped", stopped)
	}
	o, e, code := cli(t, nil, "launch", "--resume", cut)
	if code != 0 || !strings.Contains(e, "resuming from checkpoint step "+strconv.FormatInt(stopped, 10)) {
		t.Fatalf("resume (stopped at %d): exit %d\n%s\n%s", stopped, code, o, e)
	}
	t.Logf("stopped after checkpoint %d, resumed", stopped)
	if got := export(t, cut); !bytes.Equal(got, want) {
		t.Fatalf("resumed run's final parameters differ from the uninterrupted run's (stopped at %d)", stopped)
	}
}

// Checkpoints written by one world size resume on another, and training
// goes on (exactness of the resharding is checked in worker's tests).
func TestResumeOnOtherWorldSizes(t *testing.T) {
	for _, tc := range []struct{ from, to string }{{"4", "2"}, {"2", "3"}, {"3", "4"}} {
		t.Run(tc.from+"to"+tc.to, func(t *testing.T) {
			dir := t.TempDir()
			first := filepath.Join(dir, "first.yaml")
			os.WriteFile(first, []byte("train: {global_batch: 12, steps: 40, lr: {kind: constant, base: 0.002}}\ncheckpoint: {every_steps: 20}\n"), 0o644)
			more := filepath.Join(dir, "more.yaml")
			os.WriteFile(more, []byte("train: {global_batch: 12, steps: 60, lr: {kind: constant, base: 0.002}}\ncheckpoint: {every_steps: 20}\n"), 0o644)
			run := filepath.Join(dir, "run")
			if o, e, code := cli(t, nil, "launch", "--workers", tc.from, "--config", first, "--run-dir", run); code != 0 {
				t.Fatalf("%s\n%s", o, e)
			}
			o, e, code := cli(t, nil, "launch", "--workers", tc.to, "--config", more, "--resume", run)
			if code != 0 || !strings.Contains(e, "resuming from checkpoint step 40 (epoch 0, written by "+tc.from+" workers)") {
				t.Fatalf("exit %d\n%s\n%s", code, o, e)
			}
			if s := readSummary(t, run); s.Outcome != "done" || s.Steps != 60 || strconv.Itoa(int(s.WorldSize)) != tc.to {
				t.Fatalf("summary %+v", s)
			}
			out, _, _ := cli(t, nil, "checkpoint", "inspect", filepath.Join(run, "checkpoints", "step-000000000060"))
			if !strings.Contains(out, "world size "+tc.to) {
				t.Fatalf("inspect:\n%s", out)
			}
		})
	}
}

// A damaged newest checkpoint: verify names the file; resume falls back to
// the previous one with a warning, or refuses with --strict-resume.
func TestCorruptCheckpoint(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "job.yaml")
	os.WriteFile(cfg, []byte("train: {steps: 40}\ncheckpoint: {every_epochs: 0, every_steps: 20}\n"), 0o644)
	run := filepath.Join(dir, "run")
	if o, e, code := cli(t, nil, "launch", "--config", cfg, "--run-dir", run); code != 0 {
		t.Fatalf("%s\n%s", o, e)
	}
	shard := filepath.Join(run, "checkpoints", "step-000000000040", "shard-00001.safetensors")
	b, err := os.ReadFile(shard)
	if err != nil {
		matches, _ := filepath.Glob(filepath.Join(run, "checkpoints", "step-000000000040", "*"))
		t.Fatalf("%v; files: %v", err, matches)
	}
	b[len(b)-3] ^= 0x10
	os.WriteFile(shard, b, 0o644)

	out, _, code := cli(t, nil, "checkpoint", "verify", filepath.Join(run, "checkpoints"))
	if code == 0 || !strings.Contains(out, "step 40: BAD") || !strings.Contains(out, "shard-00001.safetensors") || !strings.Contains(out, "step 20: ok") {
		t.Fatalf("verify: exit %d\n%s", code, out)
	}
	_, e, code := cli(t, nil, "launch", "--config", cfg, "--run-dir", run)
	if code == 0 || !strings.Contains(e, "already holds checkpoints") {
		t.Fatalf("a fresh run over existing checkpoints: exit %d\n%s", code, e)
	}
	_, e, code = cli(t, nil, "launch", "--resume", run, "--strict-resume")
	if code == 0 || !strings.Contains(e, "shard-00001.safetensors") {
		t.Fatalf("strict resume: exit %d\n%s", code, e)
	}
	_, e, code = cli(t, nil, "launch", "--resume", run)
	if code != 0 || !strings.Contains(e, "warning: resume: passed over") || !strings.Contains(e, "resuming from checkpoint step 20") {
		t.Fatalf("resume: exit %d\n%s", code, e)
	}
}

// Resuming a run with a job whose model differs from the checkpoint's is a
// clear error naming both models.
func TestResumeRefusesAnotherModel(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "job.yaml")
	os.WriteFile(cfg, []byte("train: {steps: 20}\ncheckpoint: {every_steps: 10}\n"), 0o644)
	other := filepath.Join(dir, "other.yaml")
	os.WriteFile(other, []byte("model: {hidden: [64]}\ntrain: {steps: 40}\ncheckpoint: {every_steps: 10}\n"), 0o644)
	run := filepath.Join(dir, "run")
	if o, e, code := cli(t, nil, "launch", "--config", cfg, "--run-dir", run); code != 0 {
		t.Fatalf("%s\n%s", o, e)
	}
	_, e, code := cli(t, nil, "launch", "--config", other, "--resume", run)
	if code == 0 || !strings.Contains(e, "the checkpoint is of another model") || !strings.Contains(e, "[64]") {
		t.Fatalf("exit %d\n%s", code, e)
	}
}
