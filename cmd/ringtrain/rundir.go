package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	rtdata "github.com/ringtrain/ringtrain/data"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// Modes of what ringtrain creates in a run directory: the job, logs,
// metrics, the secret, TLS files and checkpoints are its owner's alone.
// An existing directory keeps its mode.
const (
	privateFile os.FileMode = 0o600
	privateDir  os.FileMode = 0o700
)

// writeFileAtomic replaces path with data durably: a temporary file in the
// same directory, fsync, rename, fsync of the directory. A crash leaves the
// old file or the new one, never a torn one.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	return rtdata.WriteFileAtomic(path, data, perm)
}

// jobRecord keeps RUN_DIR/job.yaml, the job the run's checkpoints belong
// to. A fresh run writes it before starting. A resumed run writes it only
// once it has trained (its first progress report), so that a resume the
// workers refuse leaves the run directory as it was.
type jobRecord struct {
	path string
	b    []byte

	mu      sync.Mutex
	trained bool
	err     error
}

func newJobRecord(runDir string, b []byte) *jobRecord {
	return &jobRecord{path: filepath.Join(runDir, "job.yaml"), b: b}
}

// write records the job now.
func (j *jobRecord) write() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.writeLocked()
}

func (j *jobRecord) writeLocked() error {
	if old, err := os.ReadFile(j.path); err == nil && string(old) == string(j.b) {
		return nil
	}
	return writeFileAtomic(j.path, j.b, privateFile)
}

// report records the job at the run's first progress report.
func (j *jobRecord) report(r *pb.ReportRequest) {
	if r.GetProgress() == nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.trained {
		j.trained = true
		j.err = j.writeLocked()
	}
}

// result says whether the run trained a step, and the error of recording
// the job then.
func (j *jobRecord) result() (trained bool, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.trained, j.err
}

// readSummaryFile reads RUN_DIR/summary.json.
func readSummaryFile(dir string) (summaryFile, error) {
	var s summaryFile
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("%s: %w", filepath.Join(dir, "summary.json"), err)
	}
	return s, nil
}

// plural is "1 worker", "2 workers".
func plural(n int, one string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %ss", n, one)
}
