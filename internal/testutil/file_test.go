package testutil

import (
	"os"
	"path/filepath"
	"strings"
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

// PrivateTree passes a tree of 0700 directories and 0600 files, and fails
// one with a directory or a file that others can read, however deep.
func TestPrivateTree(t *testing.T) {
	TypicalUmask(t)
	for _, tc := range []struct {
		name     string
		dirMode  os.FileMode // of root/a
		fileMode os.FileMode // of root/a/f
		private  bool
	}{
		{"private", 0o700, 0o600, true},
		{"readable directory", 0o755, 0o600, false},
		{"readable file", 0o700, 0o644, false},
		{"group-writable file", 0o700, 0o620, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "root")
			if err := os.MkdirAll(filepath.Join(root, "a"), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, "a", "f"), nil, tc.fileMode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(filepath.Join(root, "a", "f"), tc.fileMode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(filepath.Join(root, "a"), tc.dirMode); err != nil {
				t.Fatal(err)
			}
			if got := fails(func(tb testing.TB) { PrivateTree(tb, root) }); got == tc.private {
				t.Fatalf("PrivateTree failed: %v, want %v", got, !tc.private)
			}
			tr, err := ReadTree(root)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(tr.Paths(), " "); got != ". a a/f" {
				t.Fatalf("paths %q", got)
			}
		})
	}
	if _, err := ReadTree(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("ReadTree of a missing root: no error")
	}
}
