package testutil

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// Tree is what ReadTree found under a root: each entry's path relative to
// the root ("." is the root itself) and its mode (type and permissions).
type Tree map[string]fs.FileMode

// ReadTree walks root, root included, without following symbolic links.
func ReadTree(root string) (Tree, error) {
	tr := Tree{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		tr[rel] = fi.Mode()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", root, err)
	}
	return tr, nil
}

// NotPrivate lists, sorted, every directory whose permissions are not 0700
// and every other entry's not 0600, as "PATH: MODE, want MODE".
func (tr Tree) NotPrivate() []string {
	var bad []string
	for p, m := range tr {
		want := fs.FileMode(0o600)
		if m.IsDir() {
			want = 0o700
		}
		if m.Perm() != want {
			bad = append(bad, fmt.Sprintf("%s: %v, want %v", p, m, want|m.Type()))
		}
	}
	slices.Sort(bad)
	return bad
}

// Paths are the tree's paths, sorted.
func (tr Tree) Paths() []string {
	var ps []string
	for p := range tr {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

// PrivateTree reads the tree under root and fails the test, naming them,
// if any directory in it is not 0700 or any other entry not 0600.
func PrivateTree(t testing.TB, root string) Tree {
	t.Helper()
	tr, err := ReadTree(root)
	if err != nil {
		t.Fatalf("%v", err)
	}
	if bad := tr.NotPrivate(); len(bad) > 0 {
		t.Fatalf("readable by others under %s:\n%s", root, strings.Join(bad, "\n"))
	}
	return tr
}

// TypicalUmask sets the process's umask to 022, most systems' default,
// until the test ends, so that what a program asks for (0644 or 0600)
// shows in the files it creates, and in those of the child processes the
// test starts, rather than what a stricter umask would make of it. The
// umask is the whole process's: a test using this must not run in
// parallel with tests that create files.
func TypicalUmask(t testing.TB) {
	t.Helper()
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
}
