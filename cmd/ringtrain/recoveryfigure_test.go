package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRecoveryFigure measures docs/benchmarks.md's "Live recovery (issue
// 19)" figures (RINGTRAIN_MEASURE=1; RINGTRAIN_KILLS sets the kills per
// mode, default 20; RINGTRAIN_KILL_EVERY the replicate_every values of
// the kill runs, default 0,1; RINGTRAIN_REPS the alternations of the
// throughput runs, default 3):
//
//   - steps lost per failure and the time from the kill to the next
//     generation's first step, with cluster.replicate_every 0 (recovery
//     from the checkpoint) and 1 (live state): one long run per mode of 4
//     workers; a random worker is killed with SIGKILL at a random step, a
//     replacement is started once the survivors run again, and the next
//     kill waits until it has been admitted (at the next checkpoint: the
//     world is back to 4);
//   - the throughput of the same job without failures at replicate_every
//     0, 1 and 10 on one host (replicas in shared memory), and 0 and 1
//     with cluster.shm: off (replicas streamed, as between hosts), the
//     modes alternated, with the default model and a
//     larger one, and the CPU time per step of all its processes (less
//     sensitive than the wall time to the machine's other load);
//   - the memory: the bytes of live state a worker holds ("live state
//     replicated") and each worker's peak RSS (VmHWM), on and off.
func TestRecoveryFigure(t *testing.T) {
	if os.Getenv("RINGTRAIN_MEASURE") == "" {
		t.Skip("a measurement: RINGTRAIN_MEASURE=1 runs it")
	}
	kills := envInt(t, "RINGTRAIN_KILLS", 20)
	reps := envInt(t, "RINGTRAIN_REPS", 3)
	host, _ := os.Hostname()
	cpus, _ := os.ReadFile("/proc/cpuinfo")
	t.Logf("MACHINE %s, %d CPUs, start %s, load %s", host, strings.Count(string(cpus), "\nprocessor")+1, time.Now().UTC().Format(time.RFC3339), loadAvg())
	defer func() { t.Logf("END %s, load %s", time.Now().UTC().Format(time.RFC3339), loadAvg()) }()

	const ckptEvery = 100
	for _, every := range killModes(t) {
		t.Run(fmt.Sprintf("kills/replicate_every=%d", every), func(t *testing.T) {
			res := killLoop(t, every, ckptEvery, kills)
			var lost, rec []float64
			for _, r := range res {
				lost = append(lost, float64(r.lost))
				rec = append(rec, r.recovery.Seconds()*1000)
			}
			t.Logf("FIGURE kills | replicate_every %d | checkpoint every %d steps | %d kills | lost mean %.1f, median %.0f, max %.0f, total %.0f | kill -> first step median %.0f ms, max %.0f ms | step %.2f ms",
				every, ckptEvery, len(res), mean(lost), median(lost), slices.Max(lost), sum(lost), median(rec), slices.Max(rec), medianStepMs(res))
		})
	}

	t.Run("throughput and memory", func(t *testing.T) {
		const workers = 2
		models := []struct {
			name, model string
			steps       int
		}{
			{"mlp [256]", "model: {hidden: [256]}\n", 2000},
			{"mlp [1024, 1024]", "model: {hidden: [1024, 1024]}\n", 250},
		}
		// Replication off, every step and every 10 steps on one host (the
		// successors map their predecessors' arenas), and off and every
		// step with cluster.shm: off, where the replicas are streamed (as
		// between hosts; the all-reduce runs on loopback TCP too, so those
		// two are compared with each other).
		type mode struct {
			every int
			shm   string
		}
		modes := []mode{{0, "auto"}, {1, "auto"}, {10, "auto"}, {0, "off"}, {1, "off"}}
		type key struct {
			model int
			mode
		}
		sps := map[key][]float64{}
		cpu := map[key][]float64{} // CPU ms per step, all processes
		// ratio: a run's samples/s over that of the same repetition's run
		// without replication (the runs closest in time).
		ratio := map[key][]float64{}
		hwm := map[key][]int{}
		live := map[key][]int{}
		dir := t.TempDir()
		for rep := range reps {
			for mi, m := range models {
				order := slices.Clone(modes)
				if rep%2 == 1 {
					slices.Reverse(order)
				}
				for _, md := range order {
					every := md.every
					runDir := filepath.Join(dir, fmt.Sprintf("m%d-e%d-%s-r%d", mi, every, md.shm, rep))
					cfg := runDir + ".yaml"
					job := m.model + fmt.Sprintf("train: {global_batch: 48, steps: %d}\ncluster: {replicate_every: %d, shm: %s}\ncheckpoint: {every_epochs: 0}\neval: {every_epochs: 0}\n", m.steps, every, md.shm)
					if err := os.WriteFile(cfg, []byte(job), 0o644); err != nil {
						t.Fatal(err)
					}
					load := loadAvg()
					peaks, cpuTime, out, err := launchRSS(t, runDir, cfg, workers)
					if err != nil {
						t.Fatalf("%s, replicate_every %d: %v\n%s", m.name, every, err, out)
					}
					s := readSummary(t, runDir)
					if s.Outcome != "done" || s.WorldSize != workers {
						t.Fatalf("summary %+v", s)
					}
					b := liveBytes(t, runDir)
					k := key{mi, md}
					sps[k] = append(sps[k], s.SamplesPerSec)
					cpuMs := cpuTime.Seconds() * 1000 / float64(m.steps)
					cpu[k] = append(cpu[k], cpuMs)
					hwm[k] = append(hwm[k], peaks...)
					live[k] = append(live[k], b...)
					t.Logf("RUN %s | replicate_every %d | shm %s | rep %d | %.0f samples/s | CPU %.2f ms/step | VmHWM %v MiB | live state bytes %v | load %s", m.name, every, md.shm, rep, s.SamplesPerSec, cpuMs, peaks, b, load)
				}
			}
		}
		// off is the run without replication of the same model and shm.
		off := func(k key) key { return key{k.model, mode{0, k.shm}} }
		for mi := range models {
			for _, md := range modes {
				k := key{mi, md}
				for rep, v := range sps[k] {
					ratio[k] = append(ratio[k], v/sps[off(k)][rep])
				}
			}
		}
		for mi, m := range models {
			for _, md := range modes {
				k := key{mi, md}
				base, baseCPU := median(sps[off(k)]), median(cpu[off(k)])
				h := make([]float64, len(hwm[k]))
				for i, v := range hwm[k] {
					h[i] = float64(v)
				}
				t.Logf("FIGURE throughput | %s | %d workers | replicate_every %d | shm %s | samples/s median %.0f (%v) | %+.1f%% vs off (median of the pairs %+.1f%%) | CPU median %.2f ms/step, %+.1f%% vs off | VmHWM median %.0f MiB, max %.0f | live state bytes per worker %v |",
					m.name, workers, md.every, md.shm, median(sps[k]), roundAll(sps[k]), 100*(median(sps[k])/base-1), 100*(median(ratio[k])-1), median(cpu[k]), 100*(median(cpu[k])/baseCPU-1), median(h), slices.Max(h), slices.Compact(slices.Sorted(slices.Values(live[k]))))
			}
		}
	})
}

// killResult is one kill of killLoop.
type killResult struct {
	victim   int   // the killed worker's index
	progress int64 // the coordinator's progress step when it was killed
	restored int64 // the step the next generation resumed from
	lost     int64 // completed steps lost, from the restored event
	recovery time.Duration
	stepMs   float64 // the step time of the last progress report before the kill
	message  string
}

// killLoop runs 4 workers (checkpoints every ckptEvery steps, replicas
// every every steps) and kills a random one kills times, each at a random
// step up to 2 checkpoint intervals after the world is back to 4.
func killLoop(t *testing.T, every, ckptEvery, kills int) []killResult {
	const batch = 48
	job := fmt.Sprintf("model: {hidden: [256]}\ntrain: {global_batch: %d, steps: 100000000}\ncluster: {min_workers: 2, max_workers: 4, settle: 200ms, replicate_every: %d}\ncheckpoint: {every_epochs: 0, every_steps: %d}\neval: {every_epochs: 0}\n",
		batch, every, ckptEvery)
	c := newCluster(t, job)
	c.startTraining(4)
	alive := []int{0, 1, 2, 3}
	var res []killResult
	for k := range kills {
		target := c.progressStep() + 1 + rand.Int64N(2*int64(ckptEvery))
		progress := c.waitProgress(target)
		stepMs := 0.0
		if s, err := c.statusJSON(); err == nil {
			p, _ := s["progress"].(map[string]any)
			if v, _ := p["samples_per_s"].(float64); v > 0 {
				stepMs = 1000 * batch / v
			}
		}
		time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond) // not just after a progress report
		i := rand.IntN(len(alive))
		victim := alive[i]
		alive = slices.Delete(alive, i, i+1)
		killed := time.Now()
		if err := syscall.Kill(c.workers[victim].Process.Pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		c.workers[victim].Wait()
		var ev restoredEvent
		waitFor(t, "the restored event after the kill", 60*time.Second, c, func() bool {
			evs := restoredEvents(t, c.coordOut.String(), killed)
			if len(evs) > 0 {
				ev = evs[0]
			}
			return len(evs) > 0
		})
		var first time.Time
		waitFor(t, "the first step after the kill", 60*time.Second, c, func() bool {
			var ok bool
			first, ok = firstStepAfter(t, c.dir, killed)
			return ok
		})
		r := killResult{victim: victim, progress: progress, restored: ev.Step, lost: ev.Lost, recovery: first.Sub(killed), stepMs: stepMs, message: ev.Message}
		res = append(res, r)
		t.Logf("KILL %d | replicate_every %d | worker %d | progress %d | restored %d | lost %d | kill -> first step %.0f ms | step %.2f ms | %s",
			k, every, victim, progress, r.restored, r.lost, r.recovery.Seconds()*1000, stepMs, ev.Message)
		if every == 1 && (r.lost != 0 || r.restored < progress) {
			t.Errorf("kill %d lost steps with live recovery: %s", k, ev.Message)
		}
		// A replacement joins as a standby and is admitted at the next
		// checkpoint: the next kill waits for the world of 4.
		alive = append(alive, len(c.workers))
		c.startWorker()
		var up restoredEvent
		waitFor(t, "the replacement admitted (world size 4)", 120*time.Second, c, func() bool {
			evs := restoredEvents(t, c.coordOut.String(), killed)
			if len(evs) < 2 {
				return false
			}
			up = evs[1]
			st, err := c.status()
			return err == nil && st.Phase == "running" && st.WorldSize == 4
		})
		t.Logf("SCALEUP %d | restored %d | lost %d | %s", k, up.Step, up.Lost, up.Message)
	}
	return res
}

// waitFor polls cond every 20 ms until it holds.
func waitFor(t *testing.T, what string, within time.Duration, c *cluster, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s\ncoordinator:\n%s", what, c.coordOut.String())
		}
	}
}

// liveBytes reads the bytes of "live state replicated" from each worker
// log of a launch run directory (the value of ringtrain_live_state_bytes).
func liveBytes(t *testing.T, runDir string) []int {
	t.Helper()
	logs, _ := filepath.Glob(filepath.Join(runDir, "worker-*.log"))
	var out []int
	for _, l := range logs {
		f, err := os.Open(l)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var e struct {
				Msg   string `json:"msg"`
				Bytes int    `json:"bytes"`
			}
			if json.Unmarshal(sc.Bytes(), &e) == nil && e.Msg == "live state replicated" {
				out = append(out, e.Bytes)
			}
		}
		f.Close()
	}
	return out
}

// killModes is RINGTRAIN_KILL_EVERY: the replicate_every values of the
// kill runs.
func killModes(t *testing.T) []int {
	v := os.Getenv("RINGTRAIN_KILL_EVERY")
	if v == "" {
		return []int{0, 1}
	}
	var out []int
	for f := range strings.SplitSeq(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			t.Fatalf("RINGTRAIN_KILL_EVERY=%q: want replicate_every values, e.g. 0,1,10", v)
		}
		out = append(out, n)
	}
	return out
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

// loadAvg is /proc/loadavg's three load averages.
func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func medianStepMs(res []killResult) float64 {
	var v []float64
	for _, r := range res {
		if r.stepMs > 0 {
			v = append(v, r.stepMs)
		}
	}
	return median(v)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	return sum(v) / float64(len(v))
}

func sum(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}

func roundAll(v []float64) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x + 0.5)
	}
	return out
}
