package k8s

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/ringtrain/ringtrain/internal/testutil"
)

// TestServeFollowsTheRun runs the server's container command against the
// run the base's coordinator and two workers train on this machine
// (TestCommandsFormACluster's rewrites; the claim is a temporary
// directory): once the coordinator commits its first checkpoint, serve
// starts on that run directory (the Deployment's path, mapped to the same
// place under the claim) with only --addr rewritten; every probe's path
// answers 200 on the probed port; the model is served under the job's name
// with the run's job.yaml applied (an instance of 300s is counted
// out_of_range: the default MNIST's inputs are 0-255); the next checkpoint
// the coordinator commits is swapped in; SIGTERM drains within the grace
// period less preStop's sleep. With RINGTRAIN_SERVE_TOKEN set, as the
// optional secret sets it, the probes' paths still answer without the
// token, the model's endpoints only with it.
func TestServeFollowsTheRun(t *testing.T) {
	objs := base(t)
	d, sc := serveDeployment(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c := startCoordinator(ctx, t, objs)
	for range 2 {
		c.startWorker(ctx, t, statefulSet(t, objs, "ringtrain-worker").Spec.Template.Spec.Containers[0], testutil.FreeAddr(t), nil)
	}
	runDir := onClaim(t, sc, modelArg(t, sc.Command), c.claim)
	first := waitLatest(ctx, t, filepath.Join(runDir, "checkpoints"), "", c.proc)
	t.Logf("the coordinator committed %s", first)

	name, _ := flag(sc.Command, "--name")
	s := startServe(ctx, t, c.bin, sc, runDir, nil)
	for field, p := range probes(sc) {
		if code, body := s.get(t, p.HTTPGet.Path, ""); code != http.StatusOK {
			t.Errorf("%s GET %s: %d %s", field, p.HTTPGet.Path, code, body)
		}
	}
	if v := s.version(t, name, ""); v < stepOf(t, first) {
		t.Errorf("serving version %d, LATEST was already %s", v, first)
	}
	bright := `{"instances": [[` + strings.Repeat("300,", 783) + `300]]}`
	if code, body := s.post(t, "/predict", bright, ""); code != http.StatusOK {
		t.Fatalf("predict: %d %s", code, body)
	}
	if _, body := s.get(t, "/metrics", ""); !strings.Contains(body, `ringtrain_serve_abnormal_requests_total{kind="out_of_range"} 1`) {
		t.Errorf("an instance of 300s is not counted out_of_range: serve did not get the run's job.yaml (input range 0-255)")
	}

	// Newer checkpoints are swapped in: serve catches up with LATEST (the
	// run may have ended meanwhile: the default job takes seconds here).
	checkpoints := filepath.Join(runDir, "checkpoints")
	waitLatest(ctx, t, checkpoints, first, c.proc)
	deadline := time.Now().Add(30 * time.Second)
	for {
		latest := stepOf(t, waitLatest(ctx, t, checkpoints, "", c.proc))
		v := s.version(t, name, "")
		if v == latest && v > stepOf(t, first) {
			t.Logf("serve swapped in step %d (first served: %s)", v, first)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("LATEST is step %d, serve still serves version %d\n%s", latest, v, s.output())
		}
		time.Sleep(200 * time.Millisecond)
	}

	// SIGTERM: readiness goes, the server drains and exits 0 in time.
	budget := time.Duration(*d.Spec.Template.Spec.TerminationGracePeriodSeconds)*time.Second -
		time.Duration(sc.Lifecycle.PreStop.Sleep.Seconds)*time.Second
	took, err := s.terminate()
	if err != nil {
		t.Errorf("serve after SIGTERM: %v\n%s", err, s.output())
	}
	if took >= budget {
		t.Errorf("serve took %v to drain, the pod has %v after preStop", took, budget)
	}
	if !strings.Contains(s.output(), "draining") {
		t.Errorf("serve logged no drain:\n%s", s.output())
	}
	t.Logf("SIGTERM to exit: %v (budget %v)", took.Round(time.Millisecond), budget)

	t.Run("token", func(t *testing.T) {
		help, _ := exec.Command(c.bin, "serve", "--help").CombinedOutput()
		if !strings.Contains(string(help), "RINGTRAIN_SERVE_TOKEN") {
			t.Skip("this binary's serve --help does not mention RINGTRAIN_SERVE_TOKEN: no bearer token yet (the serveops branch adds it)")
		}
		const token = "k8s-serve-token-0123456789abcdef"
		s := startServe(ctx, t, c.bin, sc, runDir, []string{"RINGTRAIN_SERVE_TOKEN=" + token})
		defer s.terminate()
		for field, p := range probes(sc) {
			if code, body := s.get(t, p.HTTPGet.Path, ""); code != http.StatusOK {
				t.Errorf("%s GET %s without the token: %d %s (the kubelet sends none)", field, p.HTTPGet.Path, code, body)
			}
		}
		if code, _ := s.get(t, "/v2/models/"+name, ""); code != http.StatusUnauthorized {
			t.Errorf("GET /v2/models/%s without the token: %d, want 401", name, code)
		}
		if code, body := s.get(t, "/v2/models/"+name, token); code != http.StatusOK {
			t.Errorf("GET /v2/models/%s with the token: %d %s", name, code, body)
		}
	})
}

// waitLatest waits for dir/LATEST to name a checkpoint other than old and
// returns it ("step-000000000156").
func waitLatest(ctx context.Context, t *testing.T, dir, old string, coord *proc) string {
	t.Helper()
	for {
		b, err := os.ReadFile(filepath.Join(dir, "LATEST"))
		if l := strings.TrimSpace(string(b)); err == nil && l != "" && l != old {
			return l
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no checkpoint after %q in %s:\n%s", old, dir, coord.output())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// stepOf is the step a LATEST line names.
func stepOf(t *testing.T, latest string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(strings.TrimPrefix(latest, "step-"), 10, 64)
	if err != nil || !strings.HasPrefix(latest, "step-") {
		t.Fatalf("LATEST %q: want step-N", latest)
	}
	return n
}

// serveProc is a running ringtrain serve.
type serveProc struct {
	cmd  *exec.Cmd
	base string // http://127.0.0.1:PORT

	mu   sync.Mutex
	out  strings.Builder
	done chan struct{} // the output is read to its end
}

// startServe runs the serve container's command line on runDir (its model
// argument) with --addr on a free loopback port and extra environment, and
// waits for the health endpoint.
func startServe(ctx context.Context, t *testing.T, bin string, c corev1.Container, runDir string, env []string) *serveProc {
	t.Helper()
	addr := testutil.FreeAddr(t)
	args := slices.Clone(c.Command[1:])
	args[1] = runDir
	i := slices.Index(args, "--addr")
	if i < 0 || i+1 >= len(args) {
		t.Fatalf("serve command %q has no --addr VALUE", c.Command)
	}
	args[i+1] = addr
	s := &serveProc{cmd: exec.CommandContext(ctx, bin, args...), base: "http://" + addr, done: make(chan struct{})}
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.WaitDelay = 5 * time.Second
	r, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stdout = s.cmd.Stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			s.mu.Lock()
			s.out.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	})
	for {
		if resp, err := http.Get(s.base + "/v2/health/live"); err == nil {
			resp.Body.Close()
			return s
		}
		select {
		case <-s.done:
			s.cmd.Wait()
			t.Fatalf("serve %q exited:\n%s", args, s.output())
		case <-ctx.Done():
			t.Fatalf("serve %q did not come up:\n%s", args, s.output())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *serveProc) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// do sends a request with a bearer token (none when "") and returns the
// status and body.
func (s *serveProc) do(t *testing.T, method, path, body, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (s *serveProc) get(t *testing.T, path, token string) (int, string) {
	return s.do(t, http.MethodGet, path, "", token)
}

func (s *serveProc) post(t *testing.T, path, body, token string) (int, string) {
	return s.do(t, http.MethodPost, path, body, token)
}

// version is the model version /v2/models/NAME reports.
func (s *serveProc) version(t *testing.T, name, token string) int64 {
	t.Helper()
	code, body := s.get(t, "/v2/models/"+name, token)
	var meta struct {
		Versions []string `json:"versions"`
	}
	if err := json.Unmarshal([]byte(body), &meta); code != http.StatusOK || err != nil || len(meta.Versions) != 1 {
		t.Fatalf("GET /v2/models/%s: %d %s (%v)", name, code, body, err)
	}
	n, err := strconv.ParseInt(meta.Versions[0], 10, 64)
	if err != nil {
		t.Fatalf("GET /v2/models/%s: version %q: %v", name, meta.Versions[0], err)
	}
	return n
}

// terminate sends SIGTERM and waits for the exit; it returns how long that
// took and the exit error.
func (s *serveProc) terminate() (time.Duration, error) {
	start := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, err
	}
	<-s.done
	err := s.cmd.Wait()
	return time.Since(start), err
}
