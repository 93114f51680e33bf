package archtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/internal/testutil"
)

const module = "github.com/ringtrain/ringtrain/"

// listed is one package as `go list` sees it: its path and the packages of
// this module its non-test files import.
type listed struct {
	ImportPath string
	Imports    []string
}

// goList returns, for every package of the module, the module packages its
// non-test files import (paths relative to the module root).
func goList(t *testing.T, root string) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	got := map[string][]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p listed
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("go list output: %v", err)
		}
		name := strings.TrimPrefix(p.ImportPath, module)
		var ours []string
		for _, imp := range p.Imports {
			if rel, ok := strings.CutPrefix(imp, module); ok {
				ours = append(ours, rel)
			}
		}
		sort.Strings(ours)
		got[name] = ours
	}
	return got
}

var (
	// a table row: | `pkg/` or `a`, `b` | owns | imports of ours |
	rowRE  = regexp.MustCompile("^\\|([^|]*)\\|[^|]*\\|([^|]*)\\|\\s*$")
	nameRE = regexp.MustCompile("`([a-z0-9/_.]+)`")
)

// documented parses the package table of docs/architecture.md: for each
// package named in the first column, the package names in backquotes of the
// third ("imports of ours"; "none" when there are none).
func documented(t *testing.T, root string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := map[string][]string{}
	in := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "| package |") {
			in = true
			continue
		}
		if !in {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			break
		}
		m := rowRE.FindStringSubmatch(line)
		if m == nil || strings.HasPrefix(line, "|---") {
			continue
		}
		var imports []string
		for _, n := range nameRE.FindAllStringSubmatch(m[2], -1) {
			imports = append(imports, docName(n[1]))
		}
		sort.Strings(imports)
		imports = slices.Compact(imports)
		for _, n := range nameRE.FindAllStringSubmatch(m[1], -1) {
			name := strings.TrimSuffix(n[1], "/")
			doc[name] = imports
			if name == "proto" { // the row covers the generated package too
				doc[protoPkg] = imports
			}
		}
	}
	if len(doc) == 0 {
		t.Fatal("docs/architecture.md: no package table found (a header line starting with `| package |`)")
	}
	return doc
}

// protoPkg is the generated package; the table calls it `proto`.
const protoPkg = "proto/ringtrain/v1"

// docName is the package a name in the imports column means.
func docName(n string) string {
	n = strings.TrimSuffix(n, "/")
	if n == "proto" {
		return protoPkg
	}
	return n
}

// TestArchitectureTableMatchesGoList fails when a package is missing from the
// table of docs/architecture.md, or its "imports of ours" column differs
// from what its non-test files import.
func TestArchitectureTableMatchesGoList(t *testing.T) {
	root := testutil.RepoRoot(t)
	real := goList(t, root)
	doc := documented(t, root)
	var names []string
	for p := range real {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		if p == "deploy" {
			continue // test-only package; its tests run the deploy files
		}
		want, ok := doc[p]
		if !ok {
			t.Errorf("docs/architecture.md: package %s is not in the table (it imports %v)", p, real[p])
			continue
		}
		if !slices.Equal(want, real[p]) {
			t.Errorf("docs/architecture.md: %s imports %v, the table says %v", p, real[p], want)
		}
	}
	for p := range doc {
		if _, ok := real[p]; !ok && !strings.HasPrefix(p, "deploy/") {
			t.Errorf("docs/architecture.md: the table names %s, which is not a package of the module", p)
		}
	}
}

// forbidden are the design brief's "must not import" rules that hold today:
// imports flow from cmd through the drivers to the cores, never back.
var forbidden = map[string][]string{
	"allreduce":          {"*"},
	"transport/tcp":      {"coordinator", "worker", "model"},
	"transport/mem":      {"coordinator", "worker", "model"},
	"membership":         {"coordinator", "worker"},
	"coordinator":        {"worker", "model", "allreduce"},
	"worker":             {"coordinator"},
	"model":              {"allreduce", "transport/tcp", "transport/mem", "proto/ringtrain/v1", "coordinator", "worker"},
	"optim":              {"*"},
	"data":               {"coordinator", "worker", "cmd/ringtrain"},
	"checkpoint":         {"coordinator", "worker", "model", "cmd/ringtrain"},
	"telemetry":          {"coordinator", "worker", "cmd/ringtrain"},
	"serve":              {"coordinator", "worker", "cmd/ringtrain", "allreduce", "transport/tcp"},
	"proto/ringtrain/v1": {"*"},
}

// TestImportsFlowOneWay checks the design brief's import rules against the
// code, transitively, so an indirect back-edge is caught too.
func TestImportsFlowOneWay(t *testing.T) {
	real := goList(t, testutil.RepoRoot(t))
	var closure func(p string, seen map[string]bool)
	closure = func(p string, seen map[string]bool) {
		for _, q := range real[p] {
			if !seen[q] {
				seen[q] = true
				closure(q, seen)
			}
		}
	}
	for p, rules := range forbidden {
		if _, ok := real[p]; !ok {
			t.Errorf("rule for %s: no such package", p)
			continue
		}
		seen := map[string]bool{}
		closure(p, seen)
		for q := range seen {
			for _, r := range rules {
				if r == "*" || q == r {
					t.Errorf("%s imports %s (directly or not), which the design forbids", p, q)
				}
			}
		}
	}
}

// testOnly are the packages only tests may import.
var testOnly = []string{"internal/testutil", "internal/testcluster", "internal/imagetree"}

// TestTestOnlyPackagesStayInTests fails when the non-test files of a
// package import a test-only package.
func TestTestOnlyPackagesStayInTests(t *testing.T) {
	real := goList(t, testutil.RepoRoot(t))
	for _, p := range testOnly {
		if _, ok := real[p]; !ok {
			t.Errorf("test-only package %s: no such package", p)
		}
	}
	for p, imports := range real {
		for _, q := range imports {
			if slices.Contains(testOnly, q) {
				t.Errorf("%s imports %s, which only tests may import", p, q)
			}
		}
	}
}
