package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/internal/testutil"
	"github.com/ringtrain/ringtrain/pki"
)

const faultSecret = "RINGTRAIN_SECRET=fault-tests-secret-0123456789abcdef"

// cluster is a coordinator process on fixed ports and its worker processes.
type cluster struct {
	t              *testing.T
	dir, cfg, addr string
	gossip         int
	coord          *exec.Cmd
	coordOut       *syncBuilder
	workers        []*exec.Cmd
}

func newCluster(t *testing.T, job string) *cluster {
	dir := t.TempDir()
	c := &cluster{t: t, dir: dir, cfg: filepath.Join(dir, "job.yaml"), gossip: testutil.FreePort(t)}
	c.addr = testutil.FreeAddr(t)
	os.WriteFile(c.cfg, []byte(job), 0o644)
	if err := pki.Init(filepath.Join(dir, "tls"), pki.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, w := range c.workers {
			w.Process.Kill()
			w.Wait()
		}
		if c.coord != nil {
			c.coord.Process.Kill()
			c.coord.Wait()
		}
	})
	return c
}

// env is the cluster's processes' environment: the secret and the TLS
// directory (every flag reads RINGTRAIN_<FLAG>).
func (c *cluster) env() []string {
	return append(os.Environ(), faultSecret, "RINGTRAIN_TLS_DIR="+filepath.Join(c.dir, "tls"))
}

// startCoordinator starts the coordinator and waits until its control
// plane accepts connections. The test's ports were free when picked but
// another process may take one before the coordinator binds it: then it
// exits naming the address, and it is started again, on fresh ports, or on
// the same ones a little later when it resumes for workers that know them.
func (c *cluster) startCoordinator(resume bool) {
	for attempt := 0; ; attempt++ {
		args := []string{"coordinator", "--config", c.cfg, "--grpc-addr", c.addr, "--gossip-addr", "127.0.0.1",
			"--gossip-port", fmt.Sprint(c.gossip), "--run-dir", c.dir}
		if resume {
			args = append(args, "--resume")
		}
		c.coord = exec.Command(binary, args...)
		c.coord.Env = c.env()
		c.coordOut = &syncBuilder{}
		c.coord.Stdout, c.coord.Stderr = c.coordOut, c.coordOut
		if err := c.coord.Start(); err != nil {
			c.t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if conn, err := net.DialTimeout("tcp", c.addr, time.Second); err == nil {
				conn.Close()
				return
			}
			if strings.Contains(c.coordOut.String(), "address already in use") {
				break
			}
		}
		if !strings.Contains(c.coordOut.String(), "address already in use") || attempt == 4 {
			return // the test's own waits report what went wrong
		}
		c.coord.Wait()
		if resume {
			// The workers dial the old address: the port must be the same,
			// so wait for whoever holds it to let go.
			c.t.Logf("coordinator ports taken meanwhile, again on the same ports in 2s: %s", c.coordOut.String())
			time.Sleep(2 * time.Second)
			continue
		}
		c.t.Logf("coordinator ports taken meanwhile, again on others: %s", c.coordOut.String())
		c.addr, c.gossip = testutil.FreeAddr(c.t), testutil.FreePort(c.t)
	}
}

// syncBuilder is a strings.Builder that a process's output goroutine
// writes while the test reads it.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (c *cluster) startWorker(extra ...string) *exec.Cmd {
	w := exec.Command(binary, append([]string{"worker", "--join", c.addr, "--data-addr", "127.0.0.1:0", "--gossip-addr", "127.0.0.1",
		"--advertise-host", "127.0.0.1", "--log-format", "json"}, extra...)...)
	w.Env = c.env()
	log, _ := os.Create(filepath.Join(c.dir, fmt.Sprintf("worker-%d.log", len(c.workers))))
	w.Stdout, w.Stderr = log, log
	if err := w.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.workers = append(c.workers, w)
	return w
}

type statusView struct {
	Phase            string `json:"phase"`
	Generation       string `json:"generation"`
	WorldSize        int    `json:"world_size"`
	LatestCheckpoint string `json:"latest_checkpoint"`
	MetricsAddr      string `json:"metrics_addr"`
	Members          []struct {
		WorkerID    string `json:"worker_id"`
		State       string `json:"state"`
		MetricsAddr string `json:"metrics_addr"`
		DataAddr    string `json:"data_addr"`
	} `json:"members"`
}

// startTraining starts the coordinator and n workers and returns the
// status once all n train as one generation.
func (c *cluster) startTraining(n int) statusView {
	c.t.Helper()
	c.startCoordinator(false)
	for range n {
		c.startWorker()
	}
	var st statusView
	c.waitStatus(fmt.Sprintf("%d ranks training", n), 60*time.Second, func(s statusView) bool {
		st = s
		return s.Phase == "running" && s.WorldSize == n
	})
	return st
}

// checkpointed: the run has committed a checkpoint.
func (s statusView) checkpointed() bool { return s.LatestCheckpoint != "" && s.LatestCheckpoint != "0" }

// cli runs the binary with the cluster's environment and returns its
// standard output.
func (c *cluster) cli(args ...string) ([]byte, error) {
	cmd := exec.Command(binary, args...)
	cmd.Env = c.env()
	return cmd.Output()
}

func (c *cluster) status() (statusView, error) {
	out, err := c.cli("status", "--coordinator", c.addr, "--json")
	var s statusView
	if err == nil {
		err = json.Unmarshal(out, &s)
	}
	return s, err
}

// waitStatus polls status until cond holds, returning when it did.
func (c *cluster) waitStatus(what string, within time.Duration, cond func(statusView) bool) time.Time {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for {
		s, err := c.status()
		if err == nil && cond(s) {
			return time.Now()
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for %s; last status %+v (%v)\ncoordinator:\n%s", what, s, err, c.coordOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *cluster) waitDone() {
	c.t.Helper()
	done := make(chan error, 1)
	go func() { done <- c.coord.Wait() }()
	select {
	case err := <-done:
		c.coord = nil
		if err != nil {
			c.t.Fatalf("coordinator: %v\n%s", err, c.coordOut.String())
		}
	case <-time.After(120 * time.Second):
		c.t.Fatalf("run did not finish\n%s", c.coordOut.String())
	}
	if s := readSummary(c.t, c.dir); s.Outcome != "done" {
		c.t.Fatalf("summary %+v", s)
	}
}

const faultJob = "model: {hidden: [512]}\ntrain: {global_batch: 48, steps: 500}\ncluster: {min_workers: 2, max_workers: 3, settle: 200ms}\ncheckpoint: {every_epochs: 0, every_steps: 40}\n"

// A worker stopped with SIGSTOP is declared failed (memberlist), the others
// go on in a new generation; after SIGCONT it is told it was removed, joins
// again as a new member and is admitted at the next checkpoint.
func TestHungWorkerIsRemovedAndRejoins(t *testing.T) {
	// A long run: the test ends (and its cleanup kills the cluster) once the
	// woken worker is back, so the run cannot finish first under load.
	c := newCluster(t, strings.Replace(faultJob, "steps: 500", "steps: 5000", 1))
	c.startCoordinator(false)
	for range 3 {
		c.startWorker()
	}
	c.waitStatus("3 ranks and a checkpoint", 60*time.Second, func(s statusView) bool {
		return s.WorldSize == 3 && s.checkpointed()
	})
	hung := c.workers[1]
	stopped := time.Now()
	hung.Process.Signal(syscall.SIGSTOP)
	var gen string
	at := c.waitStatus("a generation of 2 without the hung worker", 30*time.Second, func(s statusView) bool {
		gen = s.Generation
		return s.Phase == "running" && s.WorldSize == 2
	})
	t.Logf("SIGSTOP -> new generation of 2: %v", at.Sub(stopped))
	hung.Process.Signal(syscall.SIGCONT)
	at = c.waitStatus("the woken worker back as a new member", 60*time.Second, func(s statusView) bool {
		return s.WorldSize == 3 && s.Generation != gen && len(s.Members) == 4
	})
	t.Logf("SIGCONT -> admitted again: %v after the stop", at.Sub(stopped))
}

// The coordinator killed with SIGKILL and restarted on the same checkpoint
// directory: the workers join the new one, which resumes from LATEST.
func TestCoordinatorRestart(t *testing.T) {
	c := newCluster(t, faultJob)
	c.startCoordinator(false)
	for range 2 {
		c.startWorker()
	}
	c.waitStatus("a checkpoint", 60*time.Second, func(s statusView) bool {
		return s.checkpointed()
	})
	c.coord.Process.Kill()
	c.coord.Wait()
	killed := time.Now()
	time.Sleep(500 * time.Millisecond)
	c.startCoordinator(true)
	at := c.waitStatus("the workers running again", 60*time.Second, func(s statusView) bool {
		return s.Phase == "running" && s.WorldSize == 2
	})
	t.Logf("coordinator kill -> running again: %v", at.Sub(killed))
	c.waitDone()
	if !strings.Contains(c.coordOut.String(), "resuming from checkpoint step") {
		t.Fatalf("the new coordinator did not resume:\n%s", c.coordOut.String())
	}
	// Its workers joined again holding no live state: the checkpoint, named.
	if !strings.Contains(c.coordOut.String(), "from checkpoint step") || !strings.Contains(c.coordOut.String(), "no worker holds live state") {
		t.Fatalf("the new coordinator's first generation does not say it restored the checkpoint:\n%s", c.coordOut.String())
	}
}

// Below min_workers training pauses with a clear status, and resumes when a
// worker joins.
func TestBelowMinWorkersPauses(t *testing.T) {
	c := newCluster(t, "model: {hidden: [512]}\ntrain: {global_batch: 48, steps: 300}\ncluster: {min_workers: 2, max_workers: 2, settle: 200ms}\ncheckpoint: {every_epochs: 0, every_steps: 40}\n")
	c.startCoordinator(false)
	c.startWorker()
	c.startWorker()
	c.waitStatus("a checkpoint", 60*time.Second, statusView.checkpointed)
	c.workers[0].Process.Kill()
	c.workers[0].Wait()
	c.waitStatus("the paused phase", 30*time.Second, func(s statusView) bool { return s.Phase == "waiting" })
	cmd := exec.Command(binary, "status", "--coordinator", c.addr)
	cmd.Env = c.env()
	text, _ := cmd.Output()
	if !strings.Contains(string(text), "phase waiting") || !strings.Contains(string(text), "training paused") {
		t.Fatalf("status does not say the run is paused:\n%s", text)
	}
	c.startWorker()
	c.waitStatus("running again", 30*time.Second, func(s statusView) bool { return s.Phase == "running" && s.WorldSize == 2 })
	c.waitDone()
}

// iptables runs an iptables command, reporting whether it worked.
func iptables(args ...string) error {
	out, err := exec.Command("iptables", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("iptables %v: %v: %s", args, err, out)
	}
	return nil
}

// A worker cut off by a partition (every packet to or from its address
// dropped) is excluded and the others go on; what it sends after the
// partition heals belongs to a generation that moved on and is refused; it
// joins again and the run completes with every checkpoint intact.
func TestPartitionedWorker(t *testing.T) {
	rule := []string{"INPUT", "-s", "127.0.0.2", "-m", "comment", "--comment", fmt.Sprintf("ringtrain-test-%d", os.Getpid()), "-j", "DROP"}
	if err := iptables(append([]string{"-I"}, rule...)...); err != nil {
		t.Skipf("needs root and iptables to drop packets on loopback: %v", err)
	}
	healed := false
	heal := func() {
		if !healed {
			healed = true
			if err := iptables(append([]string{"-D"}, rule...)...); err != nil {
				t.Error(err)
			}
		}
	}
	heal() // only a probe so far
	healed = false
	t.Cleanup(func() {
		if !healed {
			iptables(append([]string{"-D"}, rule...)...)
		}
	})
	// Long enough that training still runs when the partition heals and the
	// cut-off worker speaks again (500 steps end within seconds).
	c := newCluster(t, strings.Replace(faultJob, "steps: 500", "steps: 5000", 1))
	c.startCoordinator(false)
	c.startWorker()
	c.startWorker()
	w := exec.Command(binary, "worker", "--join", c.addr, "--data-addr", "127.0.0.2:0", "--gossip-addr", "127.0.0.2",
		"--advertise-host", "127.0.0.2", "--log-format", "json")
	w.Env = c.env()
	log, _ := os.Create(filepath.Join(c.dir, "worker-cut.log"))
	w.Stdout, w.Stderr = log, log
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	c.workers = append(c.workers, w)
	var gen string
	c.waitStatus("3 ranks and a checkpoint", 60*time.Second, func(s statusView) bool {
		gen = s.Generation
		return s.WorldSize == 3 && s.checkpointed()
	})
	cut := time.Now()
	if err := iptables(append([]string{"-I"}, rule...)...); err != nil {
		t.Fatal(err)
	}
	healed = false
	var during string
	at := c.waitStatus("the others going on without the cut-off worker", 30*time.Second, func(s statusView) bool {
		during = s.LatestCheckpoint
		return s.Phase == "running" && s.WorldSize == 2 && s.Generation != gen
	})
	t.Logf("partition -> excluded and running on 2: %v", at.Sub(cut))
	c.waitStatus("a checkpoint by the new generation", 60*time.Second, func(s statusView) bool {
		return s.LatestCheckpoint != during
	})
	heal()
	// The cut-off worker's view after healing: its old generation's traffic
	// was refused (stale generation) or it was told it had been removed.
	var cutLog string
	for deadline := time.Now().Add(60 * time.Second); ; {
		b, _ := os.ReadFile(filepath.Join(c.dir, "worker-cut.log"))
		cutLog = string(b)
		if strings.Contains(cutLog, "stale generation") || strings.Contains(cutLog, "joining again as a new member") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no sign that the healed worker's stale traffic was refused:\n%s", cutLog)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.waitDone()
	out, _, code := cli(t, nil, "checkpoint", "verify", filepath.Join(c.dir, "checkpoints"))
	if code != 0 {
		t.Fatalf("verify after the partition:\n%s", out)
	}
	t.Logf("healed worker: stale reports refused: %v, joined again: %v",
		strings.Contains(cutLog, "stale generation"), strings.Contains(cutLog, "joining again as a new member"))
}

// The step timeout, with memberlist's detection turned far down: a worker
// frozen for a few seconds stalls its generation's collectives; a stall is
// reported and the generation re-forms from the newest checkpoint; once the
// worker runs again the run completes.
func TestStepTimeoutReformsTheGeneration(t *testing.T) {
	c := newCluster(t, "model: {hidden: [512]}\ntrain: {global_batch: 48, steps: 400}\ncluster: {min_workers: 2, max_workers: 2, settle: 200ms, suspicion_mult: 100, step_timeout: 1s}\ncheckpoint: {every_epochs: 0, every_steps: 40}\n")
	c.startCoordinator(false)
	c.startWorker()
	c.startWorker()
	c.waitStatus("a checkpoint", 60*time.Second, func(s statusView) bool {
		return s.checkpointed()
	})
	c.workers[1].Process.Signal(syscall.SIGSTOP)
	time.Sleep(2500 * time.Millisecond)
	c.workers[1].Process.Signal(syscall.SIGCONT)
	c.waitDone()
	if out := c.coordOut.String(); !strings.Contains(out, "stalled") {
		t.Fatalf("no stall was reported:\n%s", out)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// The coordinator and every worker serve Prometheus metrics at the
// addresses status shows; the run directory gets metrics.jsonl.
func TestMetricsEndpointsAndFile(t *testing.T) {
	c := newCluster(t, "model: {hidden: [512]}\ntrain: {global_batch: 48, steps: 300}\ncluster: {min_workers: 2, max_workers: 2, settle: 200ms}\ncheckpoint: {every_epochs: 0, every_steps: 40}\n")
	c.startCoordinator(false)
	c.startWorker()
	c.startWorker()
	c.waitStatus("a checkpoint", 60*time.Second, statusView.checkpointed)
	st, err := c.status()
	if err != nil {
		t.Fatal(err)
	}
	if st.MetricsAddr == "" || len(st.Members) != 2 || st.Members[0].MetricsAddr == "" {
		t.Fatalf("status lacks metrics addresses: %+v", st)
	}
	coord := get(t, "http://"+st.MetricsAddr+"/metrics")
	for _, want := range []string{"ringtrain_generation ", `ringtrain_members{state="ranked"} 2`, "ringtrain_checkpoints_committed_total", "ringtrain_samples_per_second"} {
		if !strings.Contains(coord, want) {
			t.Errorf("coordinator metrics lack %q", want)
		}
	}
	worker := get(t, "http://"+strings.Replace(st.Members[0].MetricsAddr, "0.0.0.0", "127.0.0.1", 1)+"/metrics")
	for _, want := range []string{`ringtrain_step_phase_seconds_bucket{phase="reduce_scatter"`, "ringtrain_steps_total", "ringtrain_allreduce_busbw_gbps", "ringtrain_checkpoint_stall_seconds_count", "ringtrain_world_size 2", "ringtrain_shm_peers 1"} {
		if !strings.Contains(worker, want) {
			t.Errorf("worker metrics lack %q", want)
		}
	}
	c.waitDone()
	lines, _ := os.ReadFile(filepath.Join(c.dir, "metrics.jsonl"))
	if !strings.Contains(string(lines), `"kind":"progress"`) || !strings.Contains(string(lines), `"kind":"eval"`) {
		t.Fatalf("metrics.jsonl:\n%.500s", lines)
	}
}

// The coordinator's dashboard in a real headless browser (Debian's
// chromium): the page loads and shows the members and a loss curve with data.
func TestDashboardInBrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed (apt-get install chromium)")
	}
	// A long run, never waited for: the page must be loaded while it trains.
	c := newCluster(t, "model: {hidden: [512]}\ntrain: {global_batch: 48, steps: 5000}\ncluster: {min_workers: 2, max_workers: 2, settle: 200ms}\ncheckpoint: {every_epochs: 0, every_steps: 100}\n")
	c.startCoordinator(false)
	c.startWorker()
	c.startWorker()
	c.waitStatus("a checkpoint", 60*time.Second, statusView.checkpointed)
	st, err := c.status()
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + strings.Replace(st.MetricsAddr, "0.0.0.0", "127.0.0.1", 1) + "/"
	dom, err := exec.Command("timeout", "60", chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", url).Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	page := string(dom)
	for _, m := range st.Members {
		if !strings.Contains(page, m.WorkerID) {
			t.Errorf("the page does not show member %s", m.WorkerID)
		}
	}
	if !strings.Contains(page, "Training loss") || strings.Count(page, "<path") < 10 || !strings.Contains(page, "phase <b>running</b>") {
		t.Errorf("the page lacks the running phase or a loss curve with data:\n%.2000s", page)
	}
}
