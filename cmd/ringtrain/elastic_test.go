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

// coordinatorEvent returns when the coordinator logged the first event of
// kind after the instant after.
func coordinatorEvent(t *testing.T, dir, kind string, after time.Time) (time.Time, bool) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "coordinator.log"))
	if err != nil {
		return time.Time{}, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e struct {
			Time  time.Time `json:"time"`
			Event string    `json:"event"`
		}
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Event == kind && e.Time.After(after) {
			return e.Time, true
		}
	}
	return time.Time{}, false
}

// A worker of 4 killed with SIGKILL mid-run: the survivors form the next
// generation from the newest checkpoint (resharded to 3 ranks) and the run
// completes. Logs the detection and recovery times.
func TestWorkerCrashRecovers(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "job.yaml")
	os.WriteFile(cfg, []byte("model: {hidden: [512]}\ntrain: {global_batch: 48, steps: 400}\ncheckpoint: {every_epochs: 0, every_steps: 50}\n"), 0o644)
	run := filepath.Join(dir, "run")
	cmd := exec.Command(binary, "launch", "--workers", "4", "--config", cfg, "--run-dir", run)
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
	if s.Outcome != "done" || s.WorldSize != 3 || s.Steps != 400 {
		t.Fatalf("summary %+v\n%s", s, out.String())
	}
	first, ok := firstStepAfter(t, run, killed)
	if !ok {
		t.Fatal("no generation started after the kill, in the worker logs")
	}
	detected, ok := coordinatorEvent(t, run, "failure", killed)
	if !ok {
		t.Fatal("the coordinator logged no failure after the kill")
	}
	t.Logf("kill -> detected: %v; kill -> first step of the next generation: %v", detected.Sub(killed), first.Sub(killed))
}
