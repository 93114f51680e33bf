package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The job of the live-recovery tests: 4 workers (the first generation forms
// as soon as 4 joined: max_workers, else after a settle long enough for
// them all), checkpoints every 100 steps (the fallback), replicas every step
// (the default).
const replicaJob = "model: {hidden: [256]}\ntrain: {global_batch: 48, steps: 600}\ncluster: {min_workers: 2, max_workers: 4, settle: 5s}\ncheckpoint: {every_epochs: 0, every_steps: 100}\n"

// restoredEvent is a "restored" event of the coordinator's log.
type restoredEvent struct {
	At      time.Time
	Message string
	Step    int64
	Lost    int64
}

var restoredRE = regexp.MustCompile(`(?:at step|checkpoint step) (\d+), (\d+) completed steps lost`)

// restoredEvents reads the "restored" events after after from the
// coordinator's text log.
func restoredEvents(t *testing.T, coordLog string, after time.Time) []restoredEvent {
	t.Helper()
	var out []restoredEvent
	for _, line := range strings.Split(coordLog, "\n") {
		if !strings.Contains(line, " event=restored ") {
			continue
		}
		tm := logTimeRE.FindStringSubmatch(line)
		msg := logMsgRE.FindStringSubmatch(line)
		if tm == nil || msg == nil {
			t.Fatalf("restored event not in the log format: %s", line)
		}
		at, err := time.Parse(time.RFC3339Nano, tm[1])
		if err != nil || !at.After(after) {
			continue
		}
		text, err := strconv.Unquote(`"` + msg[1] + `"`)
		if err != nil {
			t.Fatalf("restored event's message: %v: %s", err, line)
		}
		m := restoredRE.FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("restored event without step and lost steps: %s", text)
		}
		step, _ := strconv.ParseInt(m[1], 10, 64)
		lost, _ := strconv.ParseInt(m[2], 10, 64)
		out = append(out, restoredEvent{At: at, Message: text, Step: step, Lost: lost})
	}
	return out
}

var (
	logTimeRE = regexp.MustCompile(`time=(\S+)`)
	logMsgRE  = regexp.MustCompile(`msg="((?:[^"\\]|\\.)*)"`)
)

// progressStep is the step of the coordinator's latest progress report
// (status --json), 0 before the first.
func (c *cluster) progressStep() int64 {
	s, err := c.statusJSON()
	if err != nil {
		return 0
	}
	p, _ := s["progress"].(map[string]any)
	v, _ := p["step"].(string)
	n, _ := strconv.ParseInt(v, 10, 64)
	return n
}

func (c *cluster) statusJSON() (map[string]any, error) {
	out, err := c.cli("status", "--coordinator", c.addr, "--json")
	if err != nil {
		return nil, err
	}
	var v map[string]any
	return v, json.Unmarshal(out, &v)
}

// workerRanks maps the current generation's ranks to the test's worker
// indexes, from the workers' logs ("generation starting").
func (c *cluster) workerRanks(gen string) map[int]int {
	ranks := map[int]int{}
	for i := range c.workers {
		b, _ := os.ReadFile(filepath.Join(c.dir, fmt.Sprintf("worker-%d.log", i)))
		for _, line := range bytes.Split(b, []byte("\n")) {
			var e struct {
				Msg        string      `json:"msg"`
				Generation json.Number `json:"generation"`
				Rank       int         `json:"rank"`
			}
			if json.Unmarshal(line, &e) == nil && e.Msg == "generation starting" && e.Generation.String() == gen {
				ranks[e.Rank] = i
			}
		}
	}
	return ranks
}

// waitProgress waits until the coordinator has seen progress past step.
func (c *cluster) waitProgress(step int64) int64 {
	c.t.Helper()
	var got int64
	c.waitStatus(fmt.Sprintf("progress past step %d", step), 60*time.Second, func(statusView) bool {
		got = c.progressStep()
		return got >= step
	})
	return got
}

// A worker of 4 killed with SIGKILL at a random step: the survivors resume
// from the step they all completed, from their live state and replicas, not
// from the checkpoint: no completed step is lost and the step counter does
// not go back. A second run in which a worker leaves cleanly at exactly that
// step (--leave-at-step) ends with bitwise the same parameters (both go on
// with 3 workers from the same state).
func TestKilledWorkerLosesNoSteps(t *testing.T) {
	for _, tc := range []struct {
		shm, replicas string
		compare       bool // run the clean leave too and compare the parameters
	}{
		// One host: every successor maps its predecessor's arena.
		{"auto", "shared memory (every successor maps its predecessor's arena)", true},
		// No shared memory: the replicas are streamed over TCP.
		{"off", "streamed", false},
	} {
		t.Run("shm="+tc.shm, func(t *testing.T) { killOneOfFour(t, tc.shm, tc.replicas, tc.compare) })
	}
}

func killOneOfFour(t *testing.T, shm, replicas string, compare bool) {
	job := strings.Replace(replicaJob, "settle: 5s}", "settle: 5s, shm: "+shm+"}", 1)
	c := newCluster(t, job)
	c.startTraining(4)
	at := int64(110 + rand.IntN(120)) // past the first checkpoint, so that a fallback would show as lost steps
	c.waitProgress(at)
	before := c.progressStep()
	killed := time.Now()
	syscall.Kill(c.workers[2].Process.Pid, syscall.SIGKILL)
	c.workers[2].Wait()
	// status says where the new generation's state came from.
	var shown string
	c.waitStatus("status naming the restore", 30*time.Second, func(statusView) bool {
		out, _ := c.cli("status", "--coordinator", c.addr)
		shown = string(out)
		return strings.Contains(shown, "resumed from the previous generation's live state and replicas (world size 4)")
	})
	if !strings.Contains(shown, "0 completed steps lost") {
		t.Fatalf("status:\n%s", shown)
	}
	c.waitDone()
	evs := restoredEvents(t, c.coordOut.String(), killed)
	if len(evs) == 0 {
		t.Fatalf("no restored event after the kill\n%s", c.coordOut.String())
	}
	ev := evs[0]
	if !strings.Contains(ev.Message, "from the previous generation's live state and replicas (world size 4)") || ev.Lost != 0 || ev.Step < before {
		t.Fatalf("killed after progress step %d; restored: %s", before, ev.Message)
	}
	if b, _ := os.ReadFile(filepath.Join(c.dir, "worker-0.log")); !bytes.Contains(b, []byte(`"replicas":"`+replicas+`"`)) {
		t.Fatalf("worker 0 did not replicate by %q:\n%s", replicas, b)
	}
	first, ok := firstStepAfter(t, c.dir, killed)
	if !ok {
		t.Fatal("no generation started after the kill, in the worker logs")
	}
	t.Logf("killed after progress step %d: %s; kill -> first step of the next generation %v", before, ev.Message, first.Sub(killed))
	if !compare {
		return
	}
	killedParams := export(t, c.dir)

	// The same job, where one worker leaves at exactly that step.
	c2 := newCluster(t, job)
	c2.startCoordinator(false)
	for i := range 4 {
		if i == 1 {
			c2.startWorker("--leave-at-step", strconv.FormatInt(ev.Step, 10))
		} else {
			c2.startWorker()
		}
	}
	c2.waitDone()
	evs2 := restoredEvents(t, c2.coordOut.String(), time.Time{})
	if len(evs2) == 0 || evs2[0].Step != ev.Step || !strings.Contains(evs2[0].Message, "replicas (world size 4)") || evs2[0].Lost != 0 {
		t.Fatalf("the clean leave at step %d: restored events %+v\n%s", ev.Step, evs2, c2.coordOut.String())
	}
	if b, _ := os.ReadFile(filepath.Join(c2.dir, "worker-1.log")); !bytes.Contains(b, []byte("left the run")) {
		t.Fatalf("the leaving worker's log:\n%s", b)
	}
	for _, out := range []string{c.coordOut.String(), c2.coordOut.String()} {
		if !strings.Contains(out, "formed: world size 4 (0 standing by), from the start") {
			t.Fatalf("the first generation did not have all 4 workers, so the two runs differ before the failure:\n%s", out)
		}
	}
	if got := export(t, c2.dir); !bytes.Equal(got, killedParams) {
		t.Fatalf("the final parameters after a kill at step %d differ from those after a clean leave at that step", ev.Step)
	}
}

// Two adjacent ranks killed at once: the replica of the first lived on the
// second, so no survivor holds it: the survivors fall back to the newest
// checkpoint, and the event says why, naming the rank.
func TestAdjacentKilledFallBackToCheckpoint(t *testing.T) {
	c := newCluster(t, replicaJob)
	st := c.startTraining(4)
	c.waitProgress(130) // after the step-100 checkpoint
	ranks := c.workerRanks(st.Generation)
	if len(ranks) != 4 {
		t.Fatalf("ranks of generation %s from the logs: %v", st.Generation, ranks)
	}
	killed := time.Now()
	for _, r := range []int{1, 2} {
		syscall.Kill(c.workers[ranks[r]].Process.Pid, syscall.SIGKILL)
	}
	c.waitDone()
	evs := restoredEvents(t, c.coordOut.String(), killed)
	var fallback *restoredEvent
	for i, e := range evs {
		if strings.Contains(e.Message, "from checkpoint step") {
			fallback = &evs[i]
		}
	}
	if fallback == nil || fallback.Step < 100 || !regexp.MustCompile(`no survivor holds the state of ranks? 1\b`).MatchString(fallback.Message) {
		t.Fatalf("restored events after killing ranks 1 and 2: %+v\n%s", evs, c.coordOut.String())
	}
	t.Logf("%s", fallback.Message)
}

// A worker that joins a running generation is admitted at the next
// checkpoint (scale-up); the new generation takes its state from the live
// ranks, not from the checkpoint on disk: nothing the 3 ranks completed is
// lost.
func TestScaleUpFromLiveState(t *testing.T) {
	c := newCluster(t, replicaJob)
	c.startTraining(3)
	c.waitProgress(20)
	joined := time.Now()
	c.startWorker()
	c.waitDone()
	evs := restoredEvents(t, c.coordOut.String(), joined)
	if len(evs) == 0 || !strings.Contains(evs[0].Message, "from the previous generation's live state and replicas (world size 3)") || evs[0].Lost != 0 || evs[0].Step < 100 {
		t.Fatalf("restored events after the 4th worker joined: %+v\n%s", evs, c.coordOut.String())
	}
	if s := readSummary(t, c.dir); s.WorldSize != 4 {
		t.Fatalf("summary %+v", s)
	}
	t.Logf("%s", evs[0].Message)
}

// A worker stopped with SIGTERM (a planned scale-down) leaves at once; the
// others go on from the live state, losing no completed step.
func TestTerminatedWorkerLeavesWithoutLoss(t *testing.T) {
	c := newCluster(t, replicaJob)
	c.startTraining(4)
	c.waitProgress(int64(110 + rand.IntN(100)))
	before := c.progressStep()
	stopped := time.Now()
	c.workers[1].Process.Signal(syscall.SIGTERM)
	if err := c.workers[1].Wait(); err != nil {
		b, _ := os.ReadFile(filepath.Join(c.dir, "worker-1.log"))
		t.Fatalf("the terminated worker exited with %v, want a clean exit\n%s", err, b)
	}
	c.waitDone()
	evs := restoredEvents(t, c.coordOut.String(), stopped)
	if len(evs) == 0 || !strings.Contains(evs[0].Message, "replicas (world size 4)") || evs[0].Lost != 0 || evs[0].Step < before {
		t.Fatalf("SIGTERM after progress step %d: restored events %+v\n%s", before, evs, c.coordOut.String())
	}
	t.Logf("%s", evs[0].Message)
}
