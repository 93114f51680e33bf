package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/checkpoint"
)

// bench train runs: it used to fail for every input (the default job
// checkpoints, and its coordinator has no checkpoint store).
func TestBenchTrainRuns(t *testing.T) {
	args := []string{"bench", "train", "--workers", "1,2", "--steps", "10", "--warmup", "0", "--batch", "8", "--hidden", "16",
		"--run-dir", t.TempDir()}
	out, stderr, code := cli(t, nil, args...)
	if code != 0 || !strings.Contains(out, "samples/s") {
		t.Fatalf("bench train: exit %d\n%s\n%s", code, out, stderr)
	}
	rows := 0
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 2 && (f[0] == "1" || f[0] == "2") && f[1] == "8" {
			rows++
		}
	}
	if rows != 2 {
		t.Fatalf("want a row per world size (1 and 2):\n%s", out)
	}
	out, stderr, code = cli(t, nil, append(args, "--csv")...)
	if lines := strings.Split(strings.TrimSpace(out), "\n"); code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "impl,model,world") {
		t.Fatalf("bench train --csv: exit %d\n%s\n%s", code, out, stderr)
	}
}

// A job that asks for checkpoints is refused by a coordinator without a
// checkpoint directory before anything trains, naming both.
func TestCheckpointsNeedACheckpointDirectory(t *testing.T) {
	dir := t.TempDir()
	steps := filepath.Join(dir, "steps.yaml")
	if err := os.WriteFile(steps, []byte("checkpoint: {every_epochs: 0, every_steps: 10}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, trigger string
		config        []string
	}{
		{"the default job", "checkpoint.every_epochs: 1", nil},
		{"every_steps", "checkpoint.every_steps: 10", []string{"--config", steps}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"coordinator", "--insecure", "--grpc-addr", "127.0.0.1:0", "--gossip-addr", "127.0.0.1",
				"--gossip-port", "0", "--metrics-addr", "127.0.0.1:0"}, tc.config...)
			out, stderr, code := cli(t, []string{"RINGTRAIN_SECRET=checkpoint-dir-test-secret-0123456789"}, args...)
			if code == 0 || !strings.Contains(stderr, tc.trigger) || !strings.Contains(stderr, "no checkpoint directory") ||
				!strings.Contains(stderr, "--run-dir") || strings.Contains(out, "control plane") {
				t.Fatalf("exit %d, want a refusal naming %q and the missing directory before listening\n%s\n%s", code, tc.trigger, out, stderr)
			}
		})
	}
}

// writeCheckpoints commits tiny checkpoints of steps into dir (real files).
func writeCheckpoints(t *testing.T, dir string, steps ...int64) *checkpoint.Store {
	t.Helper()
	st, err := checkpoint.Open(checkpoint.OSFS{}, dir, checkpoint.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range steps {
		params := []float32{1, 2, 3, float32(step)}
		var b bytes.Buffer
		if err := checkpoint.EncodeShard(&b, &checkpoint.Shard{Step: step, Lo: 0, Hi: len(params), Params: params}); err != nil {
			t.Fatal(err)
		}
		info, err := st.WriteShard(step, 0, &b)
		if err != nil {
			t.Fatal(err)
		}
		m := checkpoint.Manifest{Step: step, WorldSize: 1, ModelSpec: []byte(`{"kind":"test"}`), NumParams: len(params),
			Layout: []checkpoint.Tensor{{Name: "w", Shape: []int{len(params)}}}, Shards: []checkpoint.ShardInfo{info}}
		if err := st.Commit(m); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// checkpoint ls and verify check LATEST as a strict resume does, and ignore
// a regular file named like a step directory with a warning.
func TestCheckpointToolsCheckLatestAndIgnoreStrays(t *testing.T) {
	for _, tc := range []struct {
		name    string
		damage  func(t *testing.T, st *checkpoint.Store)
		fails   bool   // ls and verify exit non-zero
		want    string // in their output (stdout and stderr)
		warning string // on stderr
	}{
		{name: "healthy", damage: func(*testing.T, *checkpoint.Store) {}, want: "step 20: ok"},
		{name: "LATEST names a deleted step", fails: true, want: "LATEST names step 20", damage: func(t *testing.T, st *checkpoint.Store) {
			if err := os.RemoveAll(st.StepDir(20)); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "LATEST is garbage", fails: true, want: "is not a step directory name", damage: func(t *testing.T, st *checkpoint.Store) {
			if err := os.WriteFile(filepath.Join(st.Dir(), checkpoint.LatestName), []byte("\x00garbage"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "a regular file named like a step", want: "step 20: ok", warning: "step-000000000700 is named like a step directory but is not one: ignored",
			damage: func(t *testing.T, st *checkpoint.Store) {
				if err := os.WriteFile(st.StepDir(700), []byte("notes"), 0o644); err != nil {
					t.Fatal(err)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := writeCheckpoints(t, filepath.Join(t.TempDir(), "checkpoints"), 10, 20)
			tc.damage(t, st)
			for _, verb := range []string{"ls", "verify"} {
				out, stderr, code := cli(t, nil, "checkpoint", verb, st.Dir())
				all := out + stderr
				if (code != 0) != tc.fails || (verb == "verify" && !strings.Contains(all, tc.want)) ||
					(tc.fails && !strings.Contains(stderr, "LATEST")) || !strings.Contains(stderr, tc.warning) {
					t.Fatalf("checkpoint %s: exit %d, want failure %v mentioning %q and warning %q\n%s\n%s", verb, code, tc.fails, tc.want, tc.warning, out, stderr)
				}
			}
			if tc.fails {
				if _, stderr, code := cli(t, nil, "checkpoint", "ls", st.Dir()); !strings.Contains(stderr, tc.want) || code == 0 {
					t.Fatalf("ls does not say what is wrong with LATEST: %s", stderr)
				}
			}
		})
	}
}

// The checkpoint directory of a launched run, with what the test puts there
// before the run starts.
func launchWithCheckpointDir(t *testing.T, job string, prepare func(t *testing.T, ckpt string)) (runDir, stdout, stderr string, code int) {
	t.Helper()
	runDir = filepath.Join(t.TempDir(), "run")
	ckpt := filepath.Join(runDir, "checkpoints")
	if err := os.MkdirAll(ckpt, 0o755); err != nil {
		t.Fatal(err)
	}
	prepare(t, ckpt)
	cfg := filepath.Join(runDir, "..", "job.yaml")
	if err := os.WriteFile(cfg, []byte(job), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code = cli(t, nil, "launch", "--workers", "2", "--config", cfg, "--run-dir", runDir)
	return runDir, stdout, stderr, code
}

// mountTmpfs mounts a tmpfs of size on dir, read-only if asked, or skips
// the test saying why (it needs root and mount).
func mountTmpfs(t *testing.T, dir, size string, readOnly bool) {
	t.Helper()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a %s tmpfs (needs root and mount): %v %s", size, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	if readOnly {
		if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
			t.Skipf("cannot remount the tmpfs read-only: %v %s", err, out)
		}
	}
}

// Checkpoints failing on the coordinator's disk, with real processes: one
// failure is an event and training goes on; checkpoint.max_failures in a
// row, or a lost final checkpoint, stop the run with the disk's own error
// (never a bare EOF or "corrupt"); no partial step directory is left; LATEST
// always names a good checkpoint.
func TestFailedCheckpointsOnTheCoordinatorsDisk(t *testing.T) {
	stray := func(steps ...int64) func(*testing.T, string) {
		return func(t *testing.T, ckpt string) {
			for _, s := range steps {
				if err := os.WriteFile(filepath.Join(ckpt, checkpoint.StepDirName(s)), []byte("in the way"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for _, tc := range []struct {
		name    string
		job     string
		prepare func(*testing.T, string)
		ok      bool   // the run completes
		want    string // in the failure (stderr) or, for a run that completes, the coordinator's ERROR line
		latest  int64  // LATEST afterwards (0: none)
	}{
		{name: "a file where one step directory goes: training goes on",
			job:     "train: {steps: 40}\ncheckpoint: {every_epochs: 0, every_steps: 10, max_failures: 3}\n",
			prepare: stray(20), ok: true, want: "is not a directory", latest: 40},
		{name: "max_failures in a row stop the run",
			job:     "train: {steps: 60}\ncheckpoint: {every_epochs: 0, every_steps: 10, max_failures: 2}\n",
			prepare: stray(20, 30), want: "2 checkpoints in a row could not be stored (checkpoint.max_failures 2)", latest: 10},
		{name: "a full disk", job: "train: {steps: 60}\ncheckpoint: {every_epochs: 0, every_steps: 10, max_failures: 2}\n",
			prepare: func(t *testing.T, ckpt string) { mountTmpfs(t, ckpt, "600k", false) }, want: "no space left on device"},
		{name: "a read-only disk", job: "train: {steps: 60}\ncheckpoint: {every_epochs: 0, every_steps: 10, max_failures: 1}\n",
			prepare: func(t *testing.T, ckpt string) { mountTmpfs(t, ckpt, "600k", true) }, want: "read-only file system"},
		{name: "the final checkpoint fails", job: "train: {steps: 30}\ncheckpoint: {every_epochs: 0, every_steps: 20, max_failures: 3}\n",
			prepare: stray(30), want: "training finished, but its final checkpoint could not be stored (step 30", latest: 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runDir, out, stderr, code := launchWithCheckpointDir(t, tc.job, tc.prepare)
			ckpt := filepath.Join(runDir, "checkpoints")
			log, err := os.ReadFile(filepath.Join(runDir, "coordinator.log"))
			if err != nil {
				t.Fatal(err)
			}
			var errorLines []string
			for _, line := range strings.Split(string(log), "\n") {
				if strings.Contains(line, `"level":"ERROR"`) && strings.Contains(line, "checkpoint-failed") {
					errorLines = append(errorLines, line)
				}
			}
			switch {
			case tc.ok && (code != 0 || len(errorLines) != 1 || !strings.Contains(errorLines[0], tc.want) || !strings.Contains(errorLines[0], "training goes on")):
				t.Fatalf("exit %d, ERROR lines %q: want the run to complete after one failed checkpoint (%q)\n%s\n%s", code, errorLines, tc.want, out, stderr)
			case !tc.ok && (code == 0 || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "the coordinator's disk") ||
				strings.HasSuffix(strings.TrimSpace(stderr), "EOF") || strings.Contains(stderr, "corrupt") || len(errorLines) == 0):
				t.Fatalf("exit %d, want the run stopped naming %q and the coordinator's disk, logged at ERROR\n%s\n%s\n%s", code, tc.want, out, stderr, log)
			}
			if tc.ok && readSummary(t, runDir).Outcome != "done" {
				t.Fatalf("summary: %+v", readSummary(t, runDir))
			}
			names, err := os.ReadDir(ckpt)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range names { // the failed steps' partial directories are gone
				if step, ok := checkpoint.ParseStepDirName(e.Name()); ok && e.IsDir() {
					if _, err := os.Stat(filepath.Join(ckpt, e.Name(), checkpoint.ManifestName)); err != nil {
						t.Fatalf("partial step directory %d left behind", step)
					}
				}
			}
			out, stderr, code = cli(t, nil, "checkpoint", "verify", ckpt)
			switch {
			case tc.latest == 0 && (code == 0 || !strings.Contains(stderr, "no committed checkpoint")):
				t.Fatalf("verify of an empty checkpoint directory: exit %d\n%s\n%s", code, out, stderr)
			case tc.latest > 0 && (code != 0 || latestStep(runDir) != tc.latest):
				t.Fatalf("verify: exit %d, LATEST %d, want %d\n%s\n%s", code, latestStep(runDir), tc.latest, out, stderr)
			}
		})
	}
}
