package testutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindModuleRoot(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("repo/go.mod", "// the main module\nmodule github.com/ringtrain/ringtrain\n\ngo 1.26.0\n")
	write("repo/deploy/k8s/go.mod", "module github.com/ringtrain/ringtrain/deploy/k8s\n")
	write("repo/deploy/k8s/sub/x.txt", "")
	write("quoted/go.mod", "module \"github.com/ringtrain/ringtrain\"\n")
	write("quoted/a/x.txt", "")
	write("other/go.mod", "module example.com/modulename\n")
	write("other/a/x.txt", "")
	for _, tc := range []struct {
		name, from, want, wantErr string
	}{
		{"the root itself", "repo", "repo", ""},
		{"a package below", "repo/deploy", "repo", ""},
		{"past another module's go.mod", "repo/deploy/k8s/sub", "repo", ""},
		{"a quoted module path", "quoted/a", "quoted", ""},
		{"no go.mod of the module above", "other/a", "", "no go.mod of module github.com/ringtrain/ringtrain in "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := findModuleRoot(filepath.Join(dir, tc.from), Module)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), tc.from) {
					t.Fatalf("findModuleRoot = %q, %v; want an error %q naming %s", got, err, tc.wantErr, tc.from)
				}
				return
			}
			if err != nil || got != filepath.Join(dir, tc.want) {
				t.Fatalf("findModuleRoot = %q, %v; want %s", got, err, filepath.Join(dir, tc.want))
			}
		})
	}
}

// RepoRoot, run from this package's directory, is the absolute directory
// that holds internal/testutil.
func TestRepoRoot(t *testing.T) {
	root := RepoRoot(t)
	if !filepath.IsAbs(root) {
		t.Fatalf("RepoRoot = %q, not absolute", root)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "testutil", "root_test.go")); err != nil {
		t.Fatalf("RepoRoot = %q: %v", root, err)
	}
}
