package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// WriteFile writes data to the file name in dir (mode 0644) and returns its
// path; it fails the test, naming the path, when it cannot.
func WriteFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatalf("write %s: %v", p, err)
	}
	return p
}
