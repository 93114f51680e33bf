package main

import (
	"path/filepath"
	"testing"

	"github.com/ringtrain/ringtrain/internal/testutil"
)

// A launch run directory is its owner's alone: every directory 0700 (the
// runs/ parent launch makes too) and every file 0600, whoever wrote it:
// the secret, TLS files, job.yaml, the coordinator's and workers' logs,
// pids.json, metrics.jsonl, trace.json, summary.json, the checkpoints; and
// so is a checkpoint export. Before, they were 0755 and 0644: readable by
// every local user.
func TestRunDirectoryIsPrivate(t *testing.T) {
	testutil.TypicalUmask(t)
	tmp := t.TempDir()
	cfg := testutil.WriteFile(t, tmp, "job.yaml", []byte("train: {steps: 20}\ncheckpoint: {every_epochs: 0, every_steps: 10}\n"))
	runs := filepath.Join(tmp, "runs")
	run := filepath.Join(runs, "private")
	if out, stderr, code := cli(t, nil, "launch", "--config", cfg, "--trace", "--run-dir", run); code != 0 {
		t.Fatalf("launch: exit %d\n%s%s", code, out, stderr)
	}
	model := filepath.Join(runs, "model.safetensors")
	if out, stderr, code := cli(t, nil, "checkpoint", "export", filepath.Join(run, "checkpoints"), "--out", model); code != 0 {
		t.Fatalf("export: exit %d\n%s%s", code, out, stderr)
	}
	tree := testutil.PrivateTree(t, runs)
	for _, want := range []string{"private", "private/secret", "private/tls", "private/tls/ca.crt", "private/tls/ca.key",
		"private/tls/node.crt", "private/tls/node.key", "private/job.yaml", "private/coordinator.log", "private/worker-0.log",
		"private/worker-1.log", "private/pids.json", "private/metrics.jsonl", "private/trace.json", "private/summary.json",
		"private/checkpoints", "private/checkpoints/LATEST", "private/checkpoints/step-000000000020",
		"private/checkpoints/step-000000000020/MANIFEST.json", "private/checkpoints/step-000000000020/shard-00001.safetensors",
		"model.safetensors"} {
		if _, ok := tree[filepath.FromSlash(want)]; !ok {
			t.Errorf("%s missing: the test would not see its writer's mode (%v)", want, tree.Paths())
		}
	}
}
