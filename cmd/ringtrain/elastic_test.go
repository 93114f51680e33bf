package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// firstStepAfter returns the earliest first step of a generation that any
// worker log reports after the instant after: the end of a recovery.
func firstStepAfter(t *testing.T, dir string, after time.Time) (time.Time, bool) {
	t.Helper()
	logs, _ := filepath.Glob(filepath.Join(dir, "worker-*.log"))
	var first time.Time
	for _, l := range logs {
		f, err := os.Open(l)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var e struct {
				Time       time.Time `json:"time"`
				Msg        string    `json:"msg"`
				Generation float64   `json:"generation"`
			}
			if json.Unmarshal(sc.Bytes(), &e) == nil && e.Msg == "first step of generation" && e.Time.After(after) {
				if first.IsZero() || e.Time.Before(first) {
					first = e.Time
				}
			}
		}
		f.Close()
	}
	return first, !first.IsZero()
}

// A worker killed with SIGKILL mid-run: the survivors form generation 2 from
// the newest checkpoint (resharded to 2 ranks) and the run completes.
func TestWorkerCrashRecovers(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "job.yaml")
	os.WriteFile(cfg, []byte("model: {hidden: [512]}\ntrain: {global_batch: 48, steps: 400}\ncheckpoint: {every_epochs: 0, every_steps: 50}\n"), 0o644)
	run := filepath.Join(dir, "run")
	cmd := exec.Command(binary, "launch", "--workers", "3", "--config", cfg, "--run-dir", run)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for latestStep(run) < 50 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no checkpoint")
		}
		time.Sleep(5 * time.Millisecond)
	}
	var pids struct{ Workers []int }
	b, _ := os.ReadFile(filepath.Join(run, "pids.json"))
	json.Unmarshal(b, &pids)
	killed := time.Now()
	syscall.Kill(pids.Workers[1], syscall.SIGKILL)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("launch: %v\n%s", err, out.String())
	}
	s := readSummary(t, run)
	if s.Outcome != "done" || s.WorldSize != 2 || s.Steps != 400 {
		t.Fatalf("summary %+v\n%s", s, out.String())
	}
	first, ok := firstStepAfter(t, run, killed)
	if !ok {
		t.Fatal("no generation started after the kill, in the worker logs")
	}
	t.Logf("kill -> first step of the next generation: %v", first.Sub(killed))
}
