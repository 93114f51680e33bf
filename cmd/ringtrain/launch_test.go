package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func readSummary(t *testing.T, dir string) summaryFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s summaryFile
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// The README's first command: launch with no flags trains the default job
// with real worker processes and reaches 95% test accuracy.
func TestLaunchDefaultJob(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	out, stderr, code := cli(t, nil, "launch", "--run-dir", dir)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	s := readSummary(t, dir)
	t.Logf("%s\nwall %v", out, time.Since(start))
	if s.Outcome != "done" || s.TestAccuracy < 0.95 || s.WorldSize != 2 || s.Steps != 1250 || s.Epochs != 10 {
		t.Fatalf("summary %+v", s)
	}
	if !strings.Contains(out, "test accuracy") || !strings.Contains(out, "eval @ step") {
		t.Fatalf("output lacks progress or the final accuracy:\n%s", out)
	}
	for _, f := range []string{"job.yaml", "coordinator.log", "worker-0.log", "worker-1.log", "pids.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestLaunchOtherWorldSizesAndModels(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		workers    string
	}{
		{"3 workers sgd synthetic", "data: {source: synthetic, synthetic: {n: 3000, dim: 16, classes: 3}}\ntrain: {global_batch: 48, epochs: 2, optimizer: {name: sgd, momentum: 0.9}, lr: {kind: constant, base: 0.05}}\n", "3"},
		{"1 worker cnn", "model: {kind: cnn}\ntrain: {global_batch: 32, steps: 30}\n", "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "job.yaml")
			os.WriteFile(cfg, []byte(tc.yaml), 0o644)
			out, stderr, code := cli(t, nil, "launch", "--workers", tc.workers, "--config", cfg, "--run-dir", filepath.Join(dir, "run"))
			if code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
			}
			if s := readSummary(t, filepath.Join(dir, "run")); s.Outcome != "done" || s.Steps == 0 {
				t.Fatalf("%+v", s)
			}
		})
	}
}

func TestLaunchBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"malformed yaml", []string{"--config", write("bad.yaml", "train: [")}, "job spec"},
		{"unknown model", []string{"--config", write("m.yaml", "model: {kind: resnet}")}, "model.kind"},
		{"unknown key", []string{"--config", write("k.yaml", "trian: {}")}, "field trian not found"},
		{"batch not divisible", []string{"--workers", "3"}, "not divisible by --workers 3"},
		{"missing config", []string{"--config", filepath.Join(dir, "nope.yaml")}, "no such file"},
		{"zero workers", []string{"--workers", "0"}, "--workers 0"},
		{"missing data", []string{"--config", write("d.yaml", "data: {source: idx, path: "+dir+"/none}")}, "neither train-images-idx3-ubyte"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := cli(t, nil, append([]string{"launch", "--run-dir", filepath.Join(dir, tc.name)}, tc.args...)...)
			if code == 0 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q, want %q", code, stderr, tc.want)
			}
		})
	}
}

// SIGTERM (or Ctrl-C) to launch stops every worker: no orphans.
func TestLaunchSignalLeavesNoOrphans(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "job.yaml")
			os.WriteFile(cfg, []byte("train: {epochs: 1000}\n"), 0o644)
			cmd := exec.Command(binary, "launch", "--workers", "2", "--config", cfg, "--run-dir", dir)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var pids struct{ Workers []int }
			deadline := time.Now().Add(30 * time.Second)
			for {
				b, err := os.ReadFile(filepath.Join(dir, "pids.json"))
				if err == nil && json.Unmarshal(b, &pids) == nil && len(pids.Workers) == 2 {
					break
				}
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					t.Fatal("launch never started its workers")
				}
				time.Sleep(50 * time.Millisecond)
			}
			time.Sleep(2 * time.Second) // training
			cmd.Process.Signal(sig)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err == nil {
					t.Fatal("launch exited 0 after being interrupted")
				}
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				t.Fatal("launch did not exit after the signal")
			}
			for _, pid := range pids.Workers {
				if alive(pid) {
					t.Errorf("worker %d still running after launch exited", pid)
				}
			}
		})
	}
}

func alive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// A zombie (state Z) has exited.
	f := strings.Fields(string(b))
	return len(f) > 2 && f[2] != "Z"
}

func itoa(i int) string { return strconv.Itoa(i) }
