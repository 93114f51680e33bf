package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/internal/testutil"
	"github.com/ringtrain/ringtrain/job"
	"github.com/ringtrain/ringtrain/pki"
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
	// The two workers share this host: their frames go through shared
	// memory (cluster.shm: auto).
	requireWorkerLogs(t, dir, 2, "shared memory with the ranks on this host")
}

// requireWorkerLogs checks that each of the first n workers' logs in dir
// holds want.
func requireWorkerLogs(t *testing.T, dir string, n int, want string) {
	t.Helper()
	for w := range n {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("worker-%d.log", w)))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), want) {
			t.Errorf("worker-%d.log lacks %q:\n%s", w, want, b)
		}
	}
}

func TestLaunchOtherWorldSizesAndModels(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		workers    string
		log        string // every worker's log holds it
	}{
		{"3 workers sgd synthetic", "data: {source: synthetic, synthetic: {n: 3000, dim: 16, classes: 3}}\ntrain: {global_batch: 48, epochs: 2, optimizer: {name: sgd, momentum: 0.9}, lr: {kind: constant, base: 0.05}}\n", "3", "shared memory with the ranks on this host"},
		{"1 worker cnn", "model: {kind: cnn}\ntrain: {global_batch: 32, steps: 30}\n", "1", ""},
		{"2 workers over TCP", "train: {global_batch: 32, steps: 30}\ncluster: {shm: off}\n", "2", "every data-plane link on TCP"},
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
			if tc.log != "" {
				n, _ := strconv.Atoi(tc.workers)
				requireWorkerLogs(t, filepath.Join(dir, "run"), n, tc.log)
			}
		})
	}
}

func TestLaunchBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string { return testutil.WriteFile(t, dir, name, []byte(body)) }
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"malformed yaml", []string{"--config", write("bad.yaml", "train: [")}, "job spec"},
		{"unknown model", []string{"--config", write("m.yaml", "model: {kind: resnet}")}, "model.kind"},
		{"unknown key", []string{"--config", write("k.yaml", "trian: {}")}, "field trian not found"},
		{"batch not divisible", []string{"--workers", "3"}, "--workers 3: train.global_batch 64 with train.accumulate 1 on 3 workers"},
		{"missing config", []string{"--config", filepath.Join(dir, "nope.yaml")}, "no such file"},
		{"zero workers", []string{"--workers", "0"}, "--workers 0"},
		{"truncated data", []string{"--config", write("t.yaml", "data: {source: idx, path: "+truncatedIDX(t, dir)+"}")}, "truncated: got"},
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

// The multi-node verbs as separate processes on loopback: a coordinator and
// two workers that join it, plus a worker with another job that is refused.
// The coordinator's run directory keeps the job (RUN_DIR/job.yaml, which
// serve and export read), as launch's does.
func TestCoordinatorAndWorkerProcesses(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "job.yaml")
	os.WriteFile(cfg, []byte("cluster: {min_workers: 2, max_workers: 2}\ntrain: {epochs: 1}\n"), 0o644)
	other := filepath.Join(dir, "other.yaml")
	os.WriteFile(other, []byte("train: {epochs: 2}\n"), 0o644)
	if err := pki.Init(filepath.Join(dir, "tls"), pki.Options{Hosts: []string{"127.0.0.1"}}); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "RINGTRAIN_SECRET=multi-node-test-secret-0123456789", "RINGTRAIN_TLS_DIR="+filepath.Join(dir, "tls"))
	coord := exec.Command(binary, "coordinator", "--config", cfg, "--grpc-addr", "127.0.0.1:0", "--gossip-addr", "127.0.0.1",
		"--gossip-port", "0", "--run-dir", filepath.Join(dir, "run"))
	coord.Env = env
	stdout, _ := coord.StdoutPipe()
	var stderr strings.Builder
	coord.Stderr = &stderr
	if err := coord.Start(); err != nil {
		t.Fatal(err)
	}
	defer coord.Process.Kill()
	buf := make([]byte, 4096)
	n, _ := stdout.Read(buf)
	first := string(buf[:n])
	i := strings.Index(first, "--join ")
	if i < 0 {
		t.Fatalf("coordinator did not print its address: %q", first)
	}
	addr := strings.Fields(first[i+len("--join "):])[0]
	worker := func(args ...string) *exec.Cmd {
		w := exec.Command(binary, append([]string{"worker", "--join", addr, "--data-addr", "127.0.0.1:0", "--gossip-addr", "127.0.0.1"}, args...)...)
		w.Env = env
		return w
	}
	if out, err := worker("--config", other).CombinedOutput(); err == nil || !strings.Contains(string(out), "job mismatch") {
		t.Fatalf("a worker with another job joined: %v\n%s", err, out)
	}
	w1, w2 := worker(), worker()
	for _, w := range []*exec.Cmd{w1, w2} {
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range []*exec.Cmd{w1, w2} {
		if err := w.Wait(); err != nil {
			t.Fatalf("worker: %v", err)
		}
	}
	rest := new(strings.Builder)
	for {
		n, err := stdout.Read(buf)
		rest.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if err := coord.Wait(); err != nil {
		t.Fatalf("coordinator: %v\n%s\n%s", err, rest, stderr.String())
	}
	if s := readSummary(t, filepath.Join(dir, "run")); s.Outcome != "done" || s.WorldSize != 2 || s.Epochs != 1 {
		t.Fatalf("summary %+v", s)
	}
	want, err := job.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	wantB, _ := want.Marshal()
	got, err := job.Load(filepath.Join(dir, "run", "job.yaml"))
	if gotB, _ := got.Marshal(); err != nil || string(gotB) != string(wantB) {
		t.Fatalf("RUN_DIR/job.yaml (%v):\n%s\nwant the job:\n%s", err, gotB, wantB)
	}
	if !strings.Contains(rest.String(), "test accuracy") {
		t.Fatalf("coordinator output:\n%s", rest)
	}
}

// truncatedIDX is a copy of the embedded MNIST files with the training
// images cut short.
func truncatedIDX(t *testing.T, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "truncated")
	os.MkdirAll(out, 0o755)
	src := filepath.Join(testutil.RepoRoot(t), "data", "mnist10k")
	for _, f := range []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(f, "train-images") {
			b = b[:len(b)/2]
		}
		os.WriteFile(filepath.Join(out, f), b, 0o644)
	}
	return out
}

// launch --trace writes a Chrome trace that parses, holds every kind of span
// (steps, phases, ring steps) for every worker, and whose spans nest.
func TestLaunchTrace(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "job.yaml")
	// Small gradient buckets: the reduce-scatter starts during backward.
	os.WriteFile(cfg, []byte("train: {steps: 30}\ncluster: {bucket_bytes: 65536}\n"), 0o644)
	if o, e, code := cli(t, nil, "launch", "--config", cfg, "--trace", "--run-dir", dir); code != 0 {
		t.Fatalf("%s\n%s", o, e)
	}
	b, err := os.ReadFile(filepath.Join(dir, "trace.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tr struct {
		TraceEvents []struct {
			Name, Cat, Ph string
			Ts, Dur       float64
			Pid, Tid      int
		} `json:"traceEvents"`
	}
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatalf("trace.json is not valid JSON: %v", err)
	}
	type span struct{ start, end float64 }
	type track struct{ pid, tid int }
	byTrack := map[track][]span{}
	cats := map[int]map[string]int{}
	compute, ring := map[int][]span{}, map[int][]span{}
	threadNames := map[int]int{}
	for _, e := range tr.TraceEvents {
		if e.Ph == "M" && e.Name == "thread_name" {
			threadNames[e.Pid]++
		}
		if e.Ph != "X" {
			continue
		}
		s := span{e.Ts, e.Ts + e.Dur}
		byTrack[track{e.Pid, e.Tid}] = append(byTrack[track{e.Pid, e.Tid}], s)
		if cats[e.Pid] == nil {
			cats[e.Pid] = map[string]int{}
		}
		cats[e.Pid][e.Cat]++
		switch {
		case e.Cat == "ring":
			ring[e.Pid] = append(ring[e.Pid], s)
		case e.Cat == "phase" && e.Name == "compute":
			compute[e.Pid] = append(compute[e.Pid], s)
		}
	}
	if len(cats) != 2 {
		t.Fatalf("spans of %d processes, want 2", len(cats))
	}
	for pid, c := range cats {
		if c["step"] != 30 || c["phase"] != 150 || c["ring"] == 0 {
			t.Fatalf("pid %d: spans by category %v", pid, c)
		}
		if threadNames[pid] != 2 {
			t.Fatalf("pid %d: %d thread names, want the steps row and the communication row", pid, threadNames[pid])
		}
		// Communication runs under the computation: some collective's span
		// overlaps a compute phase of the same process.
		under := 0
		for _, r := range ring[pid] {
			for _, cs := range compute[pid] {
				if r.start < cs.end && cs.start < r.end {
					under++
					break
				}
			}
		}
		if under == 0 {
			t.Fatalf("pid %d: none of %d collective spans runs under a compute span", pid, len(ring[pid]))
		}
		t.Logf("pid %d: %d of %d collective spans run under compute", pid, under, len(ring[pid]))
	}
	for tk, spans := range byTrack {
		pid := tk.pid
		sort.Slice(spans, func(i, j int) bool {
			if spans[i].start != spans[j].start {
				return spans[i].start < spans[j].start
			}
			return spans[i].end > spans[j].end
		})
		const eps = 2 // µs of rounding
		var stack []span
		for _, s := range spans {
			for len(stack) > 0 && stack[len(stack)-1].end <= s.start+eps {
				stack = stack[:len(stack)-1]
			}
			if len(stack) > 0 && s.end > stack[len(stack)-1].end+eps {
				t.Fatalf("pid %d: span [%f, %f] overlaps its parent [%f, %f] without nesting", pid, s.start, s.end, stack[len(stack)-1].start, stack[len(stack)-1].end)
			}
			stack = append(stack, s)
		}
	}
}

func TestScaleAndSimulate(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "job.yaml")
	os.WriteFile(cfg, []byte("data: {source: synthetic, synthetic: {n: 2000, dim: 16, classes: 3}}\ntrain: {global_batch: 32}\n"), 0o644)
	out := filepath.Join(dir, "out")
	if o, e, code := cli(t, nil, "scale", "--workers", "1,2", "--config", cfg, "--steps", "40", "--out", out, "--link-bandwidth", "1000", "--link-latency", "100us"); code != 0 {
		t.Fatalf("%s\n%s", o, e)
	}
	csvb, err := os.ReadFile(filepath.Join(out, "scale.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(csvb)), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "world,") || !strings.HasPrefix(lines[2], "2,16,") {
		t.Fatalf("scale.csv:\n%s", csvb)
	}
	for _, png := range []string{"throughput.png", "efficiency.png", "comm_share.png"} {
		b, err := os.ReadFile(filepath.Join(out, png))
		if err != nil || len(b) < 1000 || string(b[1:4]) != "PNG" {
			t.Fatalf("%s: %v (%d bytes)", png, err, len(b))
		}
	}
	o, e, code := cli(t, nil, "simulate", "--nodes", "1,2,1024")
	if code != 0 || strings.Count(o, "\n") != 4 || !strings.Contains(o, "efficiency") {
		t.Fatalf("simulate: %d\n%s\n%s", code, o, e)
	}
	if _, e, code := cli(t, nil, "simulate", "--bandwidth-mbps", "0"); code == 0 || !strings.Contains(e, "bandwidth") {
		t.Fatalf("simulate accepted a zero bandwidth: %s", e)
	}
}
