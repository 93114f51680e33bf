package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/internal/testutil"
)

// snapshotRun reads the files a resume must not change when it is refused
// or has nothing to train: job.yaml, summary.json and every checkpoint
// file (name → content).
func snapshotRun(t *testing.T, run string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for _, name := range []string{"job.yaml", "summary.json"} {
		b, err := os.ReadFile(filepath.Join(run, name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	err := filepath.WalkDir(filepath.Join(run, "checkpoints"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(run, path)
		files[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func sameRun(t *testing.T, what string, before, after map[string][]byte) {
	t.Helper()
	var diff []string
	for name, b := range before {
		if a, ok := after[name]; !ok {
			diff = append(diff, name+" removed")
		} else if !bytes.Equal(a, b) {
			diff = append(diff, name+" changed")
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			diff = append(diff, name+" added")
		}
	}
	sort.Strings(diff)
	if len(diff) > 0 {
		t.Errorf("%s changed the run directory: %s", what, strings.Join(diff, ", "))
	}
}

// A refused resume changes nothing in the run directory (job.yaml,
// summary.json, checkpoints), whether launch refuses it (another model) or
// a worker does (another data shape), so the plain resume still works
// afterwards; resuming a finished run trains nothing and keeps its
// summary; a resume with more steps continues and records its job.
func TestRefusedResumeChangesNothing(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string { return testutil.WriteFile(t, dir, name, []byte(body)) }
	run := filepath.Join(dir, "run")
	if o, e, code := cli(t, nil, "launch", "--config", write("job.yaml", "train: {steps: 20}\ncheckpoint: {every_steps: 10}\n"), "--run-dir", run); code != 0 {
		t.Fatalf("%s\n%s", o, e)
	}
	before := snapshotRun(t, run)
	for _, tc := range []struct {
		name, yaml string
		want       []string // in stderr
	}{
		{"another model", "model: {hidden: [64]}\ntrain: {steps: 40}\ncheckpoint: {every_steps: 10}\n",
			[]string{"the checkpoint is of another model", "hidden [256]", "hidden [64]"}},
		{"another model kind", "model: {kind: cnn}\ntrain: {steps: 40}\ncheckpoint: {every_steps: 10}\n",
			[]string{"the checkpoint is of another model", "kind mlp", "kind cnn"}},
		{"another data shape (refused by the workers)", "data: {source: synthetic, synthetic: {n: 2000, dim: 16, classes: 3}}\ntrain: {steps: 40}\ncheckpoint: {every_steps: 10}\n",
			[]string{"resume refused", "the checkpoint is of another model", "is unchanged"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, e, code := cli(t, nil, "launch", "--resume", run, "--config", write(strings.ReplaceAll(tc.name, " ", "-")+".yaml", tc.yaml))
			if code == 0 {
				t.Fatalf("resume accepted:\n%s\n%s", o, e)
			}
			for _, w := range tc.want {
				if !strings.Contains(e, w) {
					t.Errorf("stderr lacks %q:\n%s", w, e)
				}
			}
			sameRun(t, "a refused resume", before, snapshotRun(t, run))
			if strings.Contains(tc.name, "workers") {
				// The coordinator logs the failed run as an error.
				log, _ := os.ReadFile(filepath.Join(run, "coordinator.log"))
				if !regexp.MustCompile(`"level":"ERROR","msg":"run failed: [^\n]*"event":"failed"`).Match(log) {
					t.Errorf("coordinator.log has no ERROR line for the failed run:\n%s", log)
				}
			}
		})
	}
	// The run had finished: a plain resume trains nothing, exits 0 and
	// keeps the summary of the run that trained.
	o, e, code := cli(t, nil, "launch", "--resume", run)
	if code != 0 || !strings.Contains(o, "already finished") || !strings.Contains(o, "test accuracy") || !strings.Contains(o, "(unchanged)") {
		t.Fatalf("resume of a finished run: exit %d\n%s\n%s", code, o, e)
	}
	sameRun(t, "resuming a finished run", before, snapshotRun(t, run))
	if s := readSummary(t, run); s.Steps != 20 || s.TrainLoss == 0 || s.SamplesPerSec == 0 {
		t.Fatalf("summary of the finished run: %+v", s)
	}
	// More steps: it trains on, and job.yaml is the job it trained.
	more := write("more.yaml", "train: {steps: 40}\ncheckpoint: {every_steps: 10}\n")
	if o, e, code := cli(t, nil, "launch", "--resume", run, "--config", more, "--workers", "1"); code != 0 {
		t.Fatalf("resume with more steps: %s\n%s", o, e)
	}
	if s := readSummary(t, run); s.Outcome != "done" || s.Steps != 40 || s.WorldSize != 1 {
		t.Fatalf("summary after training on: %+v", s)
	}
	job, _ := os.ReadFile(filepath.Join(run, "job.yaml"))
	if !strings.Contains(string(job), "steps: 40") {
		t.Fatalf("job.yaml after training on:\n%s", job)
	}
	if _, e, code := cli(t, nil, "launch", "--resume", filepath.Join(dir, "nowhere")); code == 0 || !strings.Contains(e, "no such run directory") {
		t.Fatalf("resume of a missing directory: exit %d, %s", code, e)
	}
	if _, err := os.Stat(filepath.Join(dir, "nowhere")); err == nil {
		t.Fatal("a refused resume created the directory")
	}
}
