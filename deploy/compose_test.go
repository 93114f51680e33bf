package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// composeJob lasts long enough for a kill and a disconnect: 3 ranked
// workers (96 = 3×32), down to one, checkpoints every 100 steps. 4000
// steps once ended before the disconnect was noticed (~7 s) on a quiet
// machine: 8000.
const composeJob = `train: {global_batch: 96, steps: 8000}
cluster: {min_workers: 1, max_workers: 3, settle: 500ms}
checkpoint: {every_epochs: 0, every_steps: 100}
`

type composeProject struct {
	t       *testing.T
	name    string
	files   []string
	env     []string
	image   string
	volumes []string
}

// jobProject is a Compose project of compose.yaml, named prefix and this
// process's id, on the image img with the cluster secret sec, whose
// coordinator trains job: a job.yaml in a new directory mounted at /job.
func jobProject(t *testing.T, prefix, img, job, sec string) *composeProject {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil { // the containers run as 65534
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "job.yaml"), []byte(job), 0o644); err != nil {
		t.Fatal(err)
	}
	override := filepath.Join(dir, "override.yaml")
	if err := os.WriteFile(override, []byte(fmt.Sprintf(`services:
  coordinator:
    command: ["coordinator", "--config", "/job/job.yaml", "--grpc-addr", "0.0.0.0:7070", "--gossip-port", "7946",
              "--metrics-addr", "0.0.0.0:9090", "--run-dir", "/data/run", "--tls-dir", "/tls"]
    volumes: ["%s:/job:ro"]
`, dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	return &composeProject{t: t, name: fmt.Sprintf("%s%d", prefix, os.Getpid()), files: []string{"compose.yaml", override},
		env: []string{"RINGTRAIN_IMAGE=" + img, "RINGTRAIN_SECRET=" + sec}}
}

func (p *composeProject) run(ctx context.Context, args ...string) (string, error) {
	a := []string{"-p", p.name}
	for _, f := range p.files {
		a = append(a, "-f", f)
	}
	cmd := exec.CommandContext(ctx, "docker-compose", append(a, args...)...)
	cmd.Env = append(os.Environ(), p.env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (p *composeProject) container(service string) string {
	p.t.Helper()
	out, err := p.run(context.Background(), "ps", "-q", service)
	if err != nil || strings.TrimSpace(out) == "" {
		p.t.Fatalf("container of %s: %v %s", service, err, out)
	}
	return strings.TrimSpace(out)
}

type composeStatus struct {
	Phase      string `json:"phase"`
	Generation string `json:"generation"`
	WorldSize  int    `json:"world_size"`
	Progress   struct {
		Step string `json:"step"`
	} `json:"progress"`
}

// status asks the coordinator from inside its container, over mutual TLS.
func (p *composeProject) status(coord string) (composeStatus, error) {
	var s composeStatus
	out, err := exec.Command("docker", "exec", coord, "/ringtrain", "status", "--coordinator", "localhost:7070", "--tls-dir", "/tls", "--json").Output()
	if err != nil {
		return s, fmt.Errorf("%w: %s", err, out)
	}
	return s, json.Unmarshal(out, &s)
}

func (p *composeProject) waitStatus(coord, what string, within time.Duration, cond func(composeStatus) bool) composeStatus {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for {
		s, err := p.status(coord)
		if err == nil && cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			logs, _ := exec.Command("docker", "logs", "--tail", "40", coord).CombinedOutput()
			p.t.Fatalf("timed out waiting for %s: last status %+v (%v)\ncoordinator log:\n%s", what, s, err, logs)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// The Compose cluster, for real: the image, a coordinator and three worker
// containers on a private network. One worker container is killed, another
// is cut off the network; the run recovers each time, finishes, and its
// checkpoints verify. Everything is torn down afterwards.
func TestComposeClusterSurvivesKillAndDisconnect(t *testing.T) {
	img := buildImage(t)
	if _, err := exec.LookPath("docker-compose"); err != nil {
		t.Skip("no docker-compose")
	}
	p := jobProject(t, "rtci", img, composeJob, "compose-test-secret-0123456789abcdef")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if out, err := p.run(ctx, "down", "-v", "--remove-orphans", "-t", "1"); err != nil {
			t.Errorf("compose down: %v\n%s", err, out)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	// The training services only: the serve service would restart in a
	// loop until the first checkpoint and take CPU from the run.
	out, err := p.run(ctx, "up", "-d", "coordinator", "worker1", "worker2", "worker3")
	cancel()
	if err != nil {
		t.Fatalf("compose up: %v\n%s", err, out)
	}
	coord := p.container("coordinator")
	stepOf := func(s composeStatus) int64 {
		var n int64
		fmt.Sscan(s.Progress.Step, &n)
		return n
	}
	s := p.waitStatus(coord, "3 workers training", 90*time.Second, func(s composeStatus) bool {
		return s.Phase == "running" && s.WorldSize == 3 && stepOf(s) > 100
	})
	t.Logf("training on 3 workers: generation %s step %d", s.Generation, stepOf(s))

	// 1. Kill a worker container (SIGKILL).
	killed := time.Now()
	if out, err := exec.Command("docker", "kill", p.container("worker1")).CombinedOutput(); err != nil {
		t.Fatalf("docker kill: %v %s", err, out)
	}
	gen := s.Generation
	s = p.waitStatus(coord, "recovery on 2 workers after the kill", 60*time.Second, func(n composeStatus) bool {
		return n.Phase == "running" && n.WorldSize == 2 && n.Generation != gen
	})
	step := stepOf(s)
	s = p.waitStatus(coord, "progress on 2 workers", 60*time.Second, func(n composeStatus) bool { return stepOf(n) > step+20 })
	t.Logf("kill: training again on 2 workers %.1f s after the kill (generation %s, step %d)", time.Since(killed).Seconds(), s.Generation, stepOf(s))

	// 2. Cut another worker off the network.
	cut := time.Now()
	network := p.name + "_train"
	if out, err := exec.Command("docker", "network", "disconnect", "-f", network, p.container("worker2")).CombinedOutput(); err != nil {
		t.Fatalf("docker network disconnect: %v %s", err, out)
	}
	gen = s.Generation
	s = p.waitStatus(coord, "recovery on 1 worker after the disconnect", 60*time.Second, func(n composeStatus) bool {
		return n.Phase == "running" && n.WorldSize == 1 && n.Generation != gen
	})
	step = stepOf(s)
	s = p.waitStatus(coord, "progress on 1 worker", 60*time.Second, func(n composeStatus) bool { return stepOf(n) > step+20 })
	t.Logf("disconnect: training again on 1 worker %.1f s after the cut (generation %s, step %d)", time.Since(cut).Seconds(), s.Generation, stepOf(s))

	// 3. The run finishes.
	ctx, cancel = context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	code, err := exec.CommandContext(ctx, "docker", "wait", coord).Output()
	if err != nil {
		t.Fatalf("docker wait coordinator: %v", err)
	}
	logs, _ := exec.Command("docker", "logs", coord).CombinedOutput()
	if strings.TrimSpace(string(code)) != "0" || !strings.Contains(string(logs), "test accuracy") {
		t.Fatalf("coordinator exit %s\n%s", code, logs)
	}
	for _, l := range strings.Split(string(logs), "\n") {
		if strings.HasPrefix(l, "test accuracy") {
			t.Log(l)
		}
	}
	// 4. Every committed checkpoint in the volume verifies.
	out2, err := exec.Command("docker", "run", "--rm", "-v", p.name+"_checkpoints:/data", img, "checkpoint", "verify", "/data/run/checkpoints").CombinedOutput()
	if err != nil {
		t.Fatalf("checkpoint verify: %v\n%s", err, out2)
	}
	t.Logf("checkpoint verify: %s", strings.TrimSpace(string(out2)))
}
