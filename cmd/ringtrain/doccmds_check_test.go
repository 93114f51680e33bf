package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// checkFlagsAndTargets checks every ringtrain and make call of every
// documented command, run or not: the verbs and flags must be ones
// `ringtrain ... --help` lists, the targets ones `make -n` knows. For a
// table template ("ringtrain checkpoint ls|inspect DIR", "[--workers N]")
// this is the whole test; its row's other "--flag" spans count as flags of
// its verb.
func checkFlagsAndTargets(t *testing.T, root string, cmds []docCommand) {
	h := &helpCache{out: map[string]string{}}
	targets := map[string]error{}
	for _, c := range cmds {
		var calls []invocation
		if c.InTable {
			f := strings.Fields(c.Text)
			calls = []invocation{{Tool: f[0], Args: append(f[1:], c.RowFlags...)}}
		} else {
			calls = invocations(c.Text)
		}
		for _, call := range calls {
			var err error
			switch call.Tool {
			case "ringtrain":
				err = h.check(call.Args)
			case "make":
				for _, target := range makeTargets(call.Args) {
					if _, seen := targets[target]; !seen {
						targets[target] = makeKnows(root, target)
					}
					if err = targets[target]; err != nil {
						break
					}
				}
			}
			if err != nil {
				t.Errorf("%s:%d: %s: %v", c.File, c.Line, c.Text, err)
			}
		}
	}
}

// helpCache runs `ringtrain VERBS... --help` once per verb path.
type helpCache struct {
	mu  sync.Mutex
	out map[string]string
}

func (h *helpCache) help(verbs []string) (string, error) {
	k := strings.Join(verbs, " ")
	h.mu.Lock()
	defer h.mu.Unlock()
	if out, ok := h.out[k]; ok {
		return out, nil
	}
	out, err := exec.Command(binary, append(verbs, "--help")...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("ringtrain %s --help: %w\n%s", k, err, out)
	}
	h.out[k] = string(out)
	return string(out), nil
}

// subcommands lists the names under "Available Commands:" of a help text.
func subcommands(help string) map[string]bool {
	subs := map[string]bool{}
	_, rest, ok := strings.Cut(help, "Available Commands:\n")
	if !ok {
		return subs
	}
	for _, l := range strings.Split(rest, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			break
		}
		subs[f[0]] = true
	}
	return subs
}

// check walks the verbs of one ringtrain call (alternatives "a|b" each
// walked) and then looks up every "--flag" in the help of each verb path.
func (h *helpCache) check(args []string) error {
	paths := [][]string{nil}
	i := 0
	for ; i < len(args) && !strings.HasPrefix(strings.TrimLeft(args[i], "["), "-"); i++ {
		help, err := h.help(paths[0])
		if err != nil {
			return err
		}
		subs := subcommands(help)
		alts := strings.Split(strings.Trim(args[i], "[]"), "|")
		var known, unknown []string
		for _, a := range alts {
			if subs[a] {
				known = append(known, a)
			} else {
				unknown = append(unknown, a)
			}
		}
		if len(known) == 0 {
			if len(subs) > 0 && len(paths[0]) == 0 {
				return fmt.Errorf("ringtrain has no verb %q", args[i])
			}
			break // a positional argument of a leaf verb
		}
		if len(unknown) > 0 {
			return fmt.Errorf("ringtrain %s has no verb %q", strings.Join(paths[0], " "), strings.Join(unknown, ", "))
		}
		var next [][]string
		for _, p := range paths {
			for _, a := range known {
				next = append(next, append(append([]string(nil), p...), a))
			}
		}
		paths = next
	}
	for _, a := range args[i:] {
		a = strings.Trim(a, "[]")
		if !strings.HasPrefix(a, "--") {
			continue
		}
		name, _, _ := strings.Cut(a, "=")
		re := regexp.MustCompile(`(?m)^\s+(?:-[A-Za-z], )?` + regexp.QuoteMeta(name) + `(?:\s|$)`)
		for _, p := range paths {
			help, err := h.help(p)
			if err != nil {
				return err
			}
			if !re.MatchString(help) {
				return fmt.Errorf("`ringtrain %s --help` lists no flag %s", strings.Join(p, " "), name)
			}
		}
	}
	return nil
}

// makeTargets are the targets of a make call (not its options or
// VAR=value overrides).
func makeTargets(args []string) []string {
	var out []string
	for _, a := range args {
		if !strings.HasPrefix(a, "-") && !strings.Contains(a, "=") {
			out = append(out, a)
		}
	}
	return out
}

// makeKnows: `make -n TARGET` in the repository succeeds.
func makeKnows(root, target string) error {
	cmd := exec.Command("make", "-n", target)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("make -n %s: %w\n%s", target, err, out)
	}
	return nil
}

// testFuncExists reports whether a _test.go file of this package declares
// func NAME.
func testFuncExists(t *testing.T, name string) bool {
	t.Helper()
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, d := range af.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == name {
				return true
			}
		}
	}
	return false
}
