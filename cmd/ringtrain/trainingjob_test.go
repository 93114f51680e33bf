package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/job"
)

// TestTrainingJob: the checkpoint's record wins (checked against its
// hash), else the run directory's job.yaml when it is the job the
// checkpoint names, else an error saying why the job is unknown.
func TestTrainingJob(t *testing.T) {
	a, b := []byte("train: {steps: 10}\n"), []byte("train: {steps: 20}\n")
	run := t.TempDir()
	if err := os.WriteFile(filepath.Join(run, "job.yaml"), a, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		runDir   string
		recorded []byte
		hash     string
		want     string // the job's text, or the error's
	}{
		{"the record, its hash", "", b, job.Hash(b), string(b)},
		{"the record over job.yaml", run, b, job.Hash(b), string(b)},
		{"the record, no hash", "", b, "", string(b)},
		{"a record of another hash", run, b, job.Hash(a), "recorded job has hash"},
		{"job.yaml of the hash", run, nil, job.Hash(a), string(a)},
		{"job.yaml, no hash", run, nil, "", string(a)},
		{"job.yaml of another job", run, nil, job.Hash(b), "is not the job that wrote the checkpoint"},
		{"no record, no run dir", "", nil, job.Hash(a), "no run directory"},
		{"no job.yaml", t.TempDir(), nil, "", "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := trainingJob(tc.runDir, tc.recorded, tc.hash)
			if err != nil {
				if !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want %q", err, tc.want)
				}
				return
			}
			if string(got) != tc.want {
				t.Fatalf("job %q, want %q", got, tc.want)
			}
		})
	}
}
