package main

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/internal/testutil"
)

// `make build` stamps the commit, so `version` names it even when Go
// embeds no VCS information (-buildvcs=false).
func TestMakeBuildStampsTheCommit(t *testing.T) {
	for _, tool := range []string{"make", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s", tool)
		}
	}
	head := func() string {
		out, err := exec.Command("git", "rev-parse", "HEAD").Output()
		if err != nil {
			t.Skipf("not a git checkout: %v", err)
		}
		return strings.TrimSpace(string(out))
	}
	before := head()
	bin := filepath.Join(t.TempDir(), "ringtrain")
	mk := exec.Command("make", "-s", "-C", testutil.RepoRoot(t), "build", "BIN="+bin)
	mk.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false")
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	after := head()
	out, err := exec.Command(bin, "version", "--json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Version, Commit string }
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if v.Commit != before && v.Commit != after {
		t.Fatalf("version --json: commit %q, want HEAD %s\n%s", v.Commit, after, out)
	}
	text, _ := exec.Command(bin, "version").Output()
	if strings.Contains(string(text), "unknown") || !strings.Contains(string(text), v.Commit) {
		t.Fatalf("version: %s", text)
	}
}

// An error from the membership package is named once ("membership: start
// node ..."), not "membership: membership: ...", by the coordinator and by
// a worker: here, their gossip port is taken.
func TestMembershipErrorNamedOnce(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)
	env := []string{"RINGTRAIN_SECRET=membership-test-secret-0123456789"}
	cfg := filepath.Join(t.TempDir(), "job.yaml")
	os.WriteFile(cfg, []byte("checkpoint: {every_epochs: 0}\n"), 0o644)

	_, e, code := cli(t, env, "coordinator", "--insecure", "--config", cfg, "--grpc-addr", "127.0.0.1:0", "--gossip-addr", "127.0.0.1", "--gossip-port", port)
	checkNamedOnce(t, "coordinator", e, code)

	// A worker starts its gossip node after it joined: a real coordinator.
	coord := exec.Command(binary, "coordinator", "--insecure", "--config", cfg, "--grpc-addr", "127.0.0.1:0", "--gossip-addr", "127.0.0.1", "--gossip-port", "0")
	coord.Env = append(os.Environ(), env...)
	stdout, _ := coord.StdoutPipe()
	if err := coord.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { coord.Process.Kill(); coord.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	i := strings.Index(line, "--join ")
	if err != nil || i < 0 {
		t.Fatalf("coordinator did not print its address: %q %v", line, err)
	}
	addr := strings.Fields(line[i+len("--join "):])[0]
	_, e, code = cli(t, env, "worker", "--insecure", "--join", addr, "--data-addr", "127.0.0.1:0", "--gossip-addr", "127.0.0.1", "--gossip-port", port, "--join-timeout", "10s")
	checkNamedOnce(t, "worker", e, code)
}

func checkNamedOnce(t *testing.T, who, stderr string, code int) {
	t.Helper()
	if code == 0 || !strings.Contains(stderr, "membership: start node") || strings.Contains(stderr, "membership: membership") {
		t.Errorf("%s with its gossip port taken: exit %d, stderr:\n%s", who, code, stderr)
	}
}

// What launch prints is right and works: the job's name (after its data
// and model when it sets none), "1 worker", and a status command that runs
// as printed, whether ringtrain is on PATH or not; status --json has
// snake_case keys. SIGTERM then stops the run without logging the
// workers as failed or the run as paused.
func TestLaunchPrintsCommandsThatWork(t *testing.T) {
	for _, tc := range []struct {
		name   string
		path   bool   // the binary's directory on PATH
		prefix string // of the printed status command
	}{
		{"on PATH", true, "ringtrain status "},
		{"not on PATH", false, binary + " status "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "job.yaml")
			os.WriteFile(cfg, []byte("data: {source: synthetic}\ntrain: {epochs: 100000}\n"), 0o644)
			env := os.Environ()
			if tc.path {
				env = append(env, "PATH="+filepath.Dir(binary)+string(os.PathListSeparator)+os.Getenv("PATH"))
			}
			cmd := exec.Command(binary, "launch", "--workers", "1", "--config", cfg, "--run-dir", filepath.Join(dir, "run"))
			cmd.Env = env
			out, _ := cmd.StdoutPipe()
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			lines := bufio.NewScanner(out)
			var head []string
			for len(head) < 3 && lines.Scan() {
				head = append(head, lines.Text())
			}
			if len(head) < 3 {
				t.Fatalf("launch printed %q\n%s", head, stderr.String())
			}
			go func() { // keep the pipe drained
				for lines.Scan() {
				}
			}()
			if !regexp.MustCompile(`^run \S+: synthetic-mlp on 1 worker \(mlp\), logs in `).MatchString(head[0]) {
				t.Errorf("first line %q", head[0])
			}
			status, ok := strings.CutPrefix(head[2], "status: ")
			if !ok || !strings.HasPrefix(status, tc.prefix) {
				t.Fatalf("status line %q, want it to start with %q", head[2], "status: "+tc.prefix)
			}
			run := func(args string) string {
				sh := exec.Command("sh", "-c", status+args)
				sh.Env = env
				b, err := sh.CombinedOutput()
				if err != nil {
					t.Fatalf("%s%s: %v\n%s", status, args, err, b)
				}
				return string(b)
			}
			if got := run(""); !strings.Contains(got, "phase ") || !strings.Contains(got, "WORKER") {
				t.Fatalf("status:\n%s", got)
			}
			var v map[string]any
			deadline := time.Now().Add(30 * time.Second)
			for v["progress"] == nil && time.Now().Before(deadline) {
				if err := json.Unmarshal([]byte(run(" --json")), &v); err != nil {
					t.Fatal(err)
				}
				time.Sleep(100 * time.Millisecond)
			}
			for _, k := range []string{"run_id", "phase", "world_size", "members", "progress"} {
				if _, ok := v[k]; !ok {
					t.Errorf("status --json lacks %q: %v", k, v)
				}
			}
			checkSnakeCase(t, "", v)

			cmd.Process.Signal(syscall.SIGTERM)
			if err := cmd.Wait(); err == nil {
				t.Fatal("launch exited 0 after SIGTERM")
			}
			log, _ := os.ReadFile(filepath.Join(dir, "run", "coordinator.log"))
			for _, bad := range []string{`"event":"failure"`, `"event":"paused"`, `"event":"failed"`, "left, not enough"} {
				if strings.Contains(string(log), bad) {
					t.Errorf("after SIGTERM the coordinator logged %s:\n%s", bad, log)
				}
			}
			if !strings.Contains(string(log), `"event":"stopped"`) || !strings.Contains(stderr.String(), "interrupted: stopping 1 worker ") {
				t.Errorf("no stop logged, or the message:\n%s\n%s", log, stderr.String())
			}
			t.Logf("%s\nstatus --json: %v", strings.Join(head, "\n"), v)
		})
	}
}

// checkSnakeCase fails for any key with an upper-case letter.
func checkSnakeCase(t *testing.T, at string, v any) {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if strings.ToLower(k) != k {
				t.Errorf("status --json key %s%s is not snake_case", at, k)
			}
			checkSnakeCase(t, at+k+".", e)
		}
	case []any:
		for _, e := range x {
			checkSnakeCase(t, at, e)
		}
	}
}

// `go run ./cmd/ringtrain launch` prints a status command that works after
// go run's own binary is gone: `go run ./cmd/ringtrain status ...`.
func TestGoRunLaunchPrintsGoRunStatus(t *testing.T) {
	if testing.Short() {
		t.Skip("builds with go run")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "job.yaml")
	os.WriteFile(cfg, []byte("train: {epochs: 100000}\n"), 0o644)
	root := testutil.RepoRoot(t)
	cmd := exec.Command("go", "run", "./cmd/ringtrain", "launch", "--workers", "1", "--config", cfg, "--run-dir", filepath.Join(dir, "run"))
	cmd.Dir = root
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // go run and its child: signalled together
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		cmd.Wait()
	}()
	lines := bufio.NewScanner(out)
	var status string
	for lines.Scan() {
		if s, ok := strings.CutPrefix(lines.Text(), "status: "); ok {
			status = s
			break
		}
	}
	go func() {
		for lines.Scan() {
		}
	}()
	if !strings.HasPrefix(status, "go run ./cmd/ringtrain status ") {
		t.Fatalf("status hint %q, want go run ./cmd/ringtrain status ...", status)
	}
	sh := exec.Command("sh", "-c", status)
	sh.Dir = root
	if b, err := sh.CombinedOutput(); err != nil || !strings.Contains(string(b), "phase ") {
		t.Fatalf("%s: %v\n%s", status, err, b)
	}
}

// scale checks every world size against the job before running any.
func TestScaleRefusesBadWorldSizesFirst(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	_, e, code := cli(t, nil, "scale", "--workers", "1,3", "--steps", "40", "--out", out)
	if code == 0 || !strings.Contains(e, "--workers 3") || !strings.Contains(e, "global_batch 64") {
		t.Fatalf("exit %d: %s", code, e)
	}
	if _, err := os.Stat(filepath.Join(out, "world1")); err == nil {
		t.Fatal("world 1 ran before world 3 was refused")
	}
}

// SIGTERM to a coordinator stops its run: it says so and exits non-zero,
// and its worker is told STOP (not a failure) and exits 0.
func TestCoordinatorSIGTERMStopsTheRun(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "job.yaml")
	os.WriteFile(cfg, []byte("train: {epochs: 100000}\ncheckpoint: {every_epochs: 0}\n"), 0o644)
	env := append(os.Environ(), "RINGTRAIN_SECRET=sigterm-test-secret-0123456789")
	coord := exec.Command(binary, "coordinator", "--insecure", "--config", cfg, "--grpc-addr", "127.0.0.1:0", "--gossip-addr", "127.0.0.1", "--gossip-port", "0")
	coord.Env = env
	stdout, _ := coord.StdoutPipe()
	var coordErr strings.Builder
	coord.Stderr = &coordErr
	if err := coord.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { coord.Process.Kill(); coord.Wait() }()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatal("coordinator printed nothing")
	}
	i := strings.Index(lines.Text(), "--join ")
	if i < 0 {
		t.Fatalf("coordinator did not print its address: %q", lines.Text())
	}
	addr := strings.Fields(lines.Text()[i+len("--join "):])[0]
	trained := make(chan struct{})
	go func() {
		for lines.Scan() {
			if strings.HasPrefix(lines.Text(), "step ") {
				select {
				case <-trained:
				default:
					close(trained)
				}
			}
		}
	}()
	w := exec.Command(binary, "worker", "--insecure", "--join", addr, "--data-addr", "127.0.0.1:0", "--gossip-addr", "127.0.0.1")
	w.Env = env
	var wlog strings.Builder
	w.Stdout, w.Stderr = &wlog, &wlog
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { w.Process.Kill(); w.Wait() }()
	select {
	case <-trained:
	case <-time.After(60 * time.Second):
		t.Fatalf("no training step reported\n%s", wlog.String())
	}
	coord.Process.Signal(syscall.SIGTERM)
	if err := coord.Wait(); err == nil || !strings.Contains(coordErr.String(), "interrupted: the run is stopped") {
		t.Fatalf("coordinator after SIGTERM: %v\n%s", err, coordErr.String())
	}
	done := make(chan error, 1)
	go func() { done <- w.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("worker after the coordinator stopped the run: %v\n%s", err, wlog.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("worker still running after the run stopped\n%s", wlog.String())
	}
}
