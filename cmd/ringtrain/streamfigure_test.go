package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestStreamingFigure measures docs/benchmarks.md's "Streaming data"
// figure (RINGTRAIN_MEASURE=1; RINGTRAIN_BENCH_DIR for the ~400 MB of
// shards, default a temporary directory): the peak resident memory
// (VmHWM) of each of 2 workers training on a synthetic data set packed
// into 16 MiB shards, beside the same data set in memory (data.source
// synthetic) and a tiny one (the worker's own footprint), and the data
// phase's share of the step from the run's trace; the [256] MLP also with
// data.prefetch: 0 (the step fills its own batch).
func TestStreamingFigure(t *testing.T) {
	if os.Getenv("RINGTRAIN_MEASURE") == "" {
		t.Skip("a measurement: RINGTRAIN_MEASURE=1 runs it")
	}
	const n, dim, steps = 600000, 128, 2400 // 600,000 / 256 = 2,343 steps an epoch: into the second
	dir := os.Getenv("RINGTRAIN_BENCH_DIR")
	if dir == "" {
		dir = t.TempDir()
	} else {
		var err error
		if dir, err = os.MkdirTemp(dir, "stream"); err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
	}
	shards := filepath.Join(dir, "shards")
	start := time.Now()
	out, stderr, code := cli(t, nil, "data", "pack", "--from", "synthetic", "--n", strconv.Itoa(n), "--test-n", "2000", "--dim", strconv.Itoa(dim),
		"--out", shards, "--shard-size", "16MiB")
	if code != 0 {
		t.Fatalf("pack: exit %d\n%s%s", code, out, stderr)
	}
	t.Logf("%s(%.1f s)", out, time.Since(start).Seconds())
	common := fmt.Sprintf("train: {global_batch: 256, steps: %d}\ncheckpoint: {every_epochs: 0}\neval: {every_epochs: 0}\n", steps)
	onShards := fmt.Sprintf("data: {source: shards, path: %s}\n", shards)
	inMemory := fmt.Sprintf("data: {source: synthetic, synthetic: {n: %d, dim: %d}}\n", n, dim)
	noPrefetch := func(d string) string { return strings.Replace(d, "}\n", ", prefetch: 0}\n", 1) } // the step fills its own batch
	const small, large = "model: {hidden: [256]}\n", "model: {hidden: [1024, 1024]}\n"
	for _, c := range []struct{ name, data string }{
		{"shards, mlp [256]", onShards + small},
		{"in-memory, mlp [256]", inMemory + small},
		{"shards, mlp [256], prefetch 0", noPrefetch(onShards) + small},
		{"in-memory, mlp [256], prefetch 0", noPrefetch(inMemory) + small},
		{"shards, mlp [1024, 1024]", onShards + large},
		{"in-memory, mlp [1024, 1024]", inMemory + large},
		{"tiny in-memory, mlp [256]", small + fmt.Sprintf("data: {source: synthetic, synthetic: {n: 4000, dim: %d}}\n", dim)},
	} {
		runDir := filepath.Join(dir, strings.NewReplacer(" ", "", ",", "-", "[", "", "]", "").Replace(c.name))
		cfg := runDir + ".yaml"
		if err := os.WriteFile(cfg, []byte(c.data+common), 0o644); err != nil {
			t.Fatal(err)
		}
		hwm, out, err := launchMeasuringRSS(t, runDir, cfg)
		if err != nil {
			t.Fatalf("%s: %v\n%s", c.name, err, out)
		}
		st, err := dataShare(filepath.Join(runDir, "trace.json"))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("FIGURE | %s | %v MiB | %.2f%% | %.2f%% | %.2f ms | %.0f µs | %.0f µs | %.2f ms | %.2f ms | %d |", c.name, hwm, 100*st.share, 100*st.laterShare, st.stepMs, st.dataP50, st.dataP99,
			st.firstMs, st.dataMaxMs, st.over)
	}
}

// launchMeasuringRSS launches 2 workers with --trace and returns each
// worker's VmHWM in MiB, read every 100 ms while it runs.
func launchMeasuringRSS(t *testing.T, runDir, cfg string) ([]int, string, error) {
	hwm, _, out, err := launchRSS(t, runDir, cfg, 2, "--trace")
	return hwm, out, err
}

// launchRSS launches workers workers and returns each worker's VmHWM in
// MiB, read every 100 ms while it runs, and the CPU time (user + system)
// of launch and every process it started and waited for (wait4 counts a
// child's waited-for descendants).
func launchRSS(t *testing.T, runDir, cfg string, workers int, extra ...string) ([]int, time.Duration, string, error) {
	cmd := exec.Command(binary, append([]string{"launch", "--workers", strconv.Itoa(workers), "--config", cfg, "--run-dir", runDir}, extra...)...)
	var buf strings.Builder
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		return nil, 0, "", err
	}
	var mu sync.Mutex
	peak := map[int]int{}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
			b, err := os.ReadFile(filepath.Join(runDir, "pids.json"))
			if err != nil {
				continue
			}
			var p struct{ Workers []int }
			if json.Unmarshal(b, &p) != nil {
				continue
			}
			for _, pid := range p.Workers {
				if kb := vmHWM(pid); kb > 0 {
					mu.Lock()
					peak[pid] = max(peak[pid], kb)
					mu.Unlock()
				}
			}
		}
	})
	err := cmd.Wait()
	close(done)
	wg.Wait()
	var mib []int
	for _, kb := range peak {
		mib = append(mib, kb/1024)
	}
	if len(mib) != workers && err == nil {
		err = fmt.Errorf("measured %d workers", len(mib))
	}
	return mib, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), buf.String(), err
}

// vmHWM is /proc/pid/status's VmHWM in KiB (0 if unreadable).
func vmHWM(pid int) int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return kb
		}
	}
	return 0
}

// phaseStats are a trace's data phase figures.
type phaseStats struct {
	share, stepMs, dataP50, dataP99, dataMaxMs float64
	laterShare                                 float64 // share without each worker's first step
	firstMs                                    float64 // the longest first step's data phase (a worker's first read)
	over                                       int     // later steps whose data phase exceeded 5 ms
}

// dataShare is the data phase's total over the steps' total in a trace
// (also without each worker's first step, which waits for the first
// read), the mean step in ms, and the data phase's median and 99th percentile
// (µs) and maximum (ms).
func dataShare(path string) (phaseStats, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return phaseStats{}, err
	}
	var tr struct {
		TraceEvents []struct {
			Name, Cat, Ph string
			Dur           float64
			Pid           int
		} `json:"traceEvents"`
	}
	if err := json.Unmarshal(b, &tr); err != nil {
		return phaseStats{}, err
	}
	var data, step, firstData, firstStep float64
	var durs []float64
	var st phaseStats
	steps := 0
	first, firstSeen := map[int]bool{}, map[int]bool{}
	for _, e := range tr.TraceEvents {
		switch {
		case e.Cat == "phase" && e.Name == "data":
			data += e.Dur
			if !first[e.Pid] { // events are in time order per worker
				first[e.Pid] = true
				firstData += e.Dur
				st.firstMs = max(st.firstMs, e.Dur/1000)
				continue
			}
			durs = append(durs, e.Dur)
			if e.Dur > 5000 {
				st.over++
			}
		case e.Cat == "step":
			step += e.Dur
			steps++
			if !firstSeen[e.Pid] {
				firstSeen[e.Pid] = true
				firstStep += e.Dur
			}
		}
	}
	if step == 0 || len(durs) == 0 {
		return phaseStats{}, fmt.Errorf("%s: no steps", path)
	}
	slices.Sort(durs)
	st.share, st.stepMs = data/step, step/float64(steps)/1000
	st.laterShare = (data - firstData) / (step - firstStep)
	st.dataP50, st.dataP99, st.dataMaxMs = durs[len(durs)/2], durs[len(durs)*99/100], durs[len(durs)-1]/1000
	return st, nil
}
