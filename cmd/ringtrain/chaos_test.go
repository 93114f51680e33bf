package main

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Chaos: a 4-worker run of the default job with workers killed and new ones
// started, and the coordinator killed and restarted once. The run completes
// with the default job's accuracy, every committed checkpoint verifies, and
// every process is gone at the end.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	c := newCluster(t, "cluster: {min_workers: 1, max_workers: 4, settle: 300ms}\ncheckpoint: {every_epochs: 0, every_steps: 50, keep: 50}\n")
	c.startCoordinator(false)
	for range 4 {
		c.startWorker()
	}
	progress := func(what string, beyond int64) {
		deadline := time.Now().Add(90 * time.Second)
		for latestStep(c.dir) < beyond {
			if time.Now().After(deadline) {
				t.Fatalf("no checkpoint beyond %d while %s\n%s", beyond, what, c.coordOut.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	kill := func(i int) {
		c.workers[i].Process.Signal(syscall.SIGKILL)
		c.workers[i].Wait()
	}
	progress("starting", 50)
	kill(0)
	c.startWorker()
	progress("after the first kill", latestStep(c.dir)+100)
	c.coord.Process.Kill()
	c.coord.Wait()
	time.Sleep(300 * time.Millisecond)
	c.startCoordinator(true)
	progress("after the coordinator restart", latestStep(c.dir)+100)
	kill(2)
	c.startWorker()
	progress("after the second kill", latestStep(c.dir)+50)
	kill(3)
	c.waitDone()

	s := readSummary(t, c.dir)
	t.Logf("summary: %+v", s)
	if s.TestAccuracy < 0.95 || s.Steps != 1250 {
		t.Fatalf("accuracy %.4f after %d steps, want >= 0.95 after 1250", s.TestAccuracy, s.Steps)
	}
	out, _, code := cli(t, nil, "checkpoint", "verify", filepath.Join(c.dir, "checkpoints"))
	if code != 0 || strings.Contains(out, "BAD") {
		t.Fatalf("verify: %d\n%s", code, out)
	}
	t.Logf("verified %d checkpoints", strings.Count(out, ": ok"))
	// Every worker has exited (the survivors on STOP, within a few seconds).
	deadline := time.Now().Add(15 * time.Second)
	for _, w := range c.workers {
		for w.ProcessState == nil && alive(w.Process.Pid) {
			if time.Now().After(deadline) {
				t.Fatalf("worker %d still running after the run", w.Process.Pid)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
