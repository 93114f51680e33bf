package k8s

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/ringtrain/ringtrain/internal/testutil"
)

// TestCommandsFormACluster runs the containers' own command lines on this
// machine (the coordinator and two workers, min_workers) until the
// coordinator forms a generation, with the ConfigMap's job.yaml, TLS
// material made by README.md's certs init command, and an empty run
// directory (the first start of the pod, with --auto-resume). Only what cannot
// work outside a cluster is rewritten: file paths to a temporary
// directory, listen addresses to free 127.0.0.1 ports, the join host to
// 127.0.0.1 (--tls-server-name still checks the certificate's name) and
// $(POD_IP) to 127.0.0.1. It then fetches /metrics, the readiness probes'
// path, from every process.
func TestCommandsFormACluster(t *testing.T) {
	objs := base(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := startCoordinator(ctx, t, objs)
	workerC := statefulSet(t, objs, "ringtrain-worker").Spec.Template.Spec.Containers[0]
	metrics := []string{c.metrics}
	for range 2 {
		m := testutil.FreeAddr(t)
		metrics = append(metrics, m)
		c.startWorker(ctx, t, workerC, m, nil)
	}
	coord := c.proc
	if !coord.waitFor(ctx, `"event":"generation"`) {
		t.Fatalf("the coordinator formed no generation:\n%s", coord.output())
	}
	for _, m := range metrics {
		resp, err := http.Get("http://" + m + "/metrics")
		if err != nil {
			t.Errorf("readiness path /metrics on %s: %v", m, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("readiness path /metrics on %s: %s", m, resp.Status)
		}
	}
}

// smokeCluster is the coordinator of a local run of the containers'
// commands, and what its workers need.
type smokeCluster struct {
	bin, certs, grpc, metrics string
	claim                     string // stands for the coordinator's claim: its --run-dir is claim/run
	env                       []string
	proc                      *proc
}

// startCoordinator runs the coordinator container's command line of objs
// (rewritten as TestCommandsFormACluster says) with the ConfigMap's job and
// certificates made by README.md's certs init command.
func startCoordinator(ctx context.Context, t *testing.T, objs []doc) *smokeCluster {
	t.Helper()
	bin := ringtrain(t)
	dir := t.TempDir()
	cm := byName[corev1.ConfigMap](objs, "ringtrain-job")
	if cm == nil {
		t.Fatal("no ConfigMap ringtrain-job")
	}
	jobFile := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(jobFile, []byte(cm.Data["job.yaml"]), 0o644); err != nil {
		t.Fatal(err)
	}
	certs := filepath.Join(dir, "certs")
	if out, err := exec.Command(bin, "certs", "init", "--tls-dir", certs, "--hosts", strings.Join(certHosts(t), ",")).CombinedOutput(); err != nil {
		t.Fatalf("certs init: %v\n%s", err, out)
	}
	c := &smokeCluster{bin: bin, certs: certs, grpc: testutil.FreeAddr(t), metrics: testutil.FreeAddr(t), claim: dir,
		env: append(os.Environ(), "RINGTRAIN_SECRET=k8s-manifest-smoke-test-0123456789abcdef")}
	coordC := statefulSet(t, objs, "ringtrain-coordinator").Spec.Template.Spec.Containers[0]
	runDir, _ := flag(coordC.Command, "--run-dir")
	c.proc = start(ctx, t, bin, c.env, rewrite(t, coordC.Command, map[string]string{
		"--config": jobFile, "--tls-dir": certs, "--run-dir": onClaim(t, coordC, runDir, dir),
		"--grpc-addr": c.grpc, "--metrics-addr": c.metrics, "--gossip-port": "0",
	}))
	return c
}

// startWorker runs a worker container's command line against the
// coordinator, its metrics on metricsAddr, with extra environment
// variables.
func (c *smokeCluster) startWorker(ctx context.Context, t *testing.T, w corev1.Container, metricsAddr string, env []string) *proc {
	t.Helper()
	return start(ctx, t, c.bin, append(slices.Clone(c.env), env...), rewrite(t, w.Command, map[string]string{
		"--join": c.grpc, "--tls-dir": c.certs, "--data-addr": "127.0.0.1:0", "--metrics-addr": metricsAddr,
		"--gossip-port": "0", "--advertise-host": "127.0.0.1",
	}))
}

// rewrite replaces the values of the given flags (each must be in cmd),
// drops /ringtrain and binds gossip to the loopback interface.
func rewrite(t *testing.T, cmd []string, values map[string]string) []string {
	t.Helper()
	out := append([]string(nil), cmd[1:]...)
	for f, v := range values {
		i := -1
		for j, a := range out {
			if a == f {
				i = j
			}
		}
		if i < 0 || i+1 >= len(out) {
			t.Fatalf("%s: no %s VALUE to rewrite", cmd[1], f)
		}
		out[i+1] = v
	}
	return append(out, "--gossip-addr", "127.0.0.1")
}

// proc is a started ringtrain process and its combined output.
type proc struct {
	mu    sync.Mutex
	lines []string
	added chan struct{} // closed and replaced on every line, and at exit
	done  bool
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// waitFor reports whether a line containing s appears before the process
// exits or ctx ends.
func (p *proc) waitFor(ctx context.Context, s string) bool {
	for {
		p.mu.Lock()
		for _, l := range p.lines {
			if strings.Contains(l, s) {
				p.mu.Unlock()
				return true
			}
		}
		done, added := p.done, p.added
		p.mu.Unlock()
		if done {
			return false
		}
		select {
		case <-added:
		case <-ctx.Done():
			return false
		}
	}
}

// start runs bin with args until the test ends (interrupt, then kill).
func start(ctx context.Context, t *testing.T, bin string, env, args []string) *proc {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	p := &proc{added: make(chan struct{})}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			close(p.added)
			p.added = make(chan struct{})
			p.mu.Unlock()
		}
		p.mu.Lock()
		p.done = true
		close(p.added)
		p.added = make(chan struct{})
		p.mu.Unlock()
	}()
	t.Cleanup(func() {
		cancel()
		err := cmd.Wait()
		<-scanned
		r.Close()
		if t.Failed() {
			t.Logf("ringtrain %s (%v):\n%s", args[0], err, p.output())
		}
	})
	return p
}

// onClaim maps path, on a volume mounted in c, to the same path under
// root, the local directory standing for that volume.
func onClaim(t *testing.T, c corev1.Container, path, root string) string {
	t.Helper()
	m := mountFor(c, path)
	if m == nil {
		t.Fatalf("container %s: %s is on no volume", c.Name, path)
	}
	rel, err := filepath.Rel(m.MountPath, path)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, rel)
}
