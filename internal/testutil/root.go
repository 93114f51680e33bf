package testutil

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Module is the path the repository's go.mod declares.
const Module = "github.com/ringtrain/ringtrain"

// RepoRoot returns the absolute path of the repository root: the nearest
// directory at or above the test's working directory (its package's
// directory) whose go.mod declares Module. It fails the test when there is
// none.
func RepoRoot(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatalf("repository root: %v", err)
	}
	root, err := findModuleRoot(wd, Module)
	if err != nil {
		t.Fatalf("repository root: %v", err)
	}
	return root
}

// findModuleRoot walks up from dir to the first directory whose go.mod
// declares module (another module's go.mod on the way is passed over).
func findModuleRoot(dir, module string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		switch {
		case err == nil && modulePath(b) == module:
			return d, nil
		case err != nil && !os.IsNotExist(err):
			return "", fmt.Errorf("read %s: %w", filepath.Join(d, "go.mod"), err)
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod of module %s in %s or any directory above it", module, dir)
		}
		d = parent
	}
}

// modulePath is the path of go.mod's module directive, "" if it has none.
func modulePath(gomod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}
