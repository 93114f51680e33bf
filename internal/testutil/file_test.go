package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// WriteFile writes the file and returns its path; a directory that is not
// there fails the test.
func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := WriteFile(t, dir, "job.yaml", []byte("train: {steps: 1}\n"))
	if b, err := os.ReadFile(p); err != nil || p != filepath.Join(dir, "job.yaml") || string(b) != "train: {steps: 1}\n" {
		t.Fatalf("WriteFile = %q: %q %v", p, b, err)
	}
	if !fails(func(tb testing.TB) { WriteFile(tb, filepath.Join(dir, "missing"), "x", nil) }) {
		t.Fatal("writing into a missing directory did not fail")
	}
}
