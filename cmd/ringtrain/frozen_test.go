package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startWorkerWith starts a worker like startWorker, with extra flags; its
// log is worker-N.log in the cluster's directory.
func (c *cluster) startWorkerWith(extra ...string) (*exec.Cmd, string) {
	path := filepath.Join(c.dir, fmt.Sprintf("worker-%d.log", len(c.workers)))
	w := exec.Command(binary, append([]string{"worker", "--join", c.addr, "--data-addr", "127.0.0.1:0", "--gossip-addr", "127.0.0.1",
		"--advertise-host", "127.0.0.1", "--log-format", "json"}, extra...)...)
	w.Env = c.env()
	log, err := os.Create(path)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { log.Close() })
	w.Stdout, w.Stderr = log, log
	if err := w.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.workers = append(c.workers, w)
	return w, path
}

// A coordinator frozen with SIGSTOP (alive to the kernel: its sockets stay
// open) is noticed by its workers — by gossip, or, with gossip's failure
// detection turned far down, by the control connection's keepalive — and
// treated like a lost connection: they try to join again for
// --join-timeout, then exit non-zero saying what happened (issue 11,
// defect 5: they used to wait silently for as long as it was frozen).
func TestFrozenCoordinatorWorkersGiveUp(t *testing.T) {
	const base = "model: {hidden: [512]}\ntrain: {global_batch: 48, steps: 50000}\ncheckpoint: {every_epochs: 0, every_steps: 40}\n"
	for _, tc := range []struct {
		name, cluster string
		want          string // in the workers' final error
		within        time.Duration
	}{
		{"declared dead by gossip", "cluster: {min_workers: 2, max_workers: 2, settle: 200ms}\n",
			"unresponsive (gossip declared its node", 60 * time.Second},
		{"no keepalive answer", "cluster: {min_workers: 2, max_workers: 2, settle: 200ms, probe_interval: 2s, suspicion_mult: 100}\n",
			"keepalive", 120 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, base+tc.cluster)
			c.startCoordinator(false)
			type exit struct {
				log string
				err error
			}
			exits := make(chan exit, 2)
			for range 2 {
				w, log := c.startWorkerWith("--join-timeout", "3s")
				go func() { exits <- exit{log, w.Wait()} }()
			}
			c.waitStatus("2 ranks and a checkpoint", 60*time.Second, func(s statusView) bool {
				return s.WorldSize == 2 && s.checkpointed()
			})
			stopped := time.Now()
			if err := c.coord.Process.Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			defer c.coord.Process.Signal(syscall.SIGCONT)
			for range 2 {
				select {
				case e := <-exits:
					b, _ := os.ReadFile(e.log)
					lines := strings.Split(strings.TrimSpace(string(b)), "\n")
					last := lines[len(lines)-1]
					ee, ok := e.err.(*exec.ExitError)
					if !ok || ee.ExitCode() == 0 {
						t.Fatalf("worker exit: %v, want a non-zero exit status; last line: %s", e.err, last)
					}
					if !strings.Contains(last, "lost the coordinator "+c.addr) || !strings.Contains(last, tc.want) ||
						!strings.Contains(last, "gave up rejoining after --join-timeout 3s") {
						t.Fatalf("the worker's last words do not say what happened (want %q): %s", tc.want, last)
					}
					t.Logf("SIGSTOP -> worker exited after %v: %s", time.Since(stopped).Round(time.Millisecond), last)
				case <-time.After(tc.within):
					t.Fatalf("the workers were still waiting %v after the coordinator froze", tc.within)
				}
			}
		})
	}
}

// Issue 11, defect 4: 4 workers checkpointing every 50 steps; once LATEST
// ≥ 300 the coordinator (launch) is frozen and, a second later, a worker is
// killed. Frozen for 10 s as reported, gossip declares the coordinator dead
// and the workers rejoin it when it wakes; frozen for 2 s, below gossip's
// detection, they stay, and their uploads and reports of the old
// generation are refused as stale when it wakes. Neither may fail the run
// ("run failed: worker …: checkpoint at step 400: … stale generation", or
// "…: EOF", before the fix): the survivors carry on in a new generation
// and the run completes.
func TestFrozenCoordinatorAndKilledWorker(t *testing.T) {
	for _, frozen := range []time.Duration{10 * time.Second, 2 * time.Second} {
		t.Run(fmt.Sprint("frozen ", frozen), func(t *testing.T) { frozenAndKilled(t, frozen) })
	}
}

func frozenAndKilled(t *testing.T, frozen time.Duration) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(cfg, []byte("model: {hidden: [512]}\ntrain: {global_batch: 48, steps: 400}\ncheckpoint: {every_epochs: 0, every_steps: 50}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, "run")
	cmd := exec.Command(binary, "launch", "--workers", "4", "--config", cfg, "--run-dir", run)
	// A file, not a pipe: Wait must not wait for children that inherited it.
	outPath := filepath.Join(dir, "launch.out")
	outFile, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer outFile.Close()
	cmd.Stdout, cmd.Stderr = outFile, outFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	output := func() string { b, _ := os.ReadFile(outPath); return string(b) }
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(60 * time.Second)
	for latestStep(run) < 300 {
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint at step 300 within a minute\n%s", output())
		}
		time.Sleep(5 * time.Millisecond)
	}
	var pids struct{ Workers []int }
	b, _ := os.ReadFile(filepath.Join(run, "pids.json"))
	if err := json.Unmarshal(b, &pids); err != nil || len(pids.Workers) != 4 {
		t.Fatalf("pids.json: %v %s", err, b)
	}
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	syscall.Kill(pids.Workers[1], syscall.SIGKILL)
	time.Sleep(frozen - time.Second)
	cmd.Process.Signal(syscall.SIGCONT)
	select {
	case <-exited:
		if waitErr != nil {
			t.Fatalf("launch: %v\n%s", waitErr, output())
		}
	case <-time.After(120 * time.Second):
		t.Fatalf("the run did not finish\n%s", output())
	}
	if s := readSummary(t, run); s.Outcome != "done" || s.Steps != 400 || s.WorldSize != 3 {
		t.Fatalf("summary %+v\n%s", s, output())
	}
}
