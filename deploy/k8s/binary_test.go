package k8s

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// TestMain removes the binary built for the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// ringtrain builds the real binary from the main module (two directories
// up) the way make image does, once per test run.
func ringtrain(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: not building the binary")
	}
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "ringtrain-k8s-test"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "ringtrain")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/ringtrain")
		cmd.Dir = filepath.Join("..", "..")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/ringtrain: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// command is a ringtrain command line: the verb path and its flags.
type command struct {
	where string
	verb  []string
	flags []string
}

// commands returns the container commands and the ringtrain command lines
// in README.md (lines starting "ringtrain VERB" or holding "/ringtrain VERB").
func commands(t *testing.T) []command {
	var out []command
	for _, dir := range []string{".", "serve"} {
		for _, w := range workloads(deployed(t)[dir]) {
			for _, c := range w.tmpl.Spec.Containers {
				out = append(out, command{w.name + "/" + c.Name, c.Command[1:2], flagNames(c.Command)})
			}
		}
	}
	for i, l := range readme(t) {
		l = strings.TrimSpace(l)
		if _, after, ok := strings.Cut(l, "/ringtrain "); ok {
			l = after
		} else if after, ok := strings.CutPrefix(l, "ringtrain "); ok {
			l = after
		} else {
			continue
		}
		args := strings.Fields(l)
		n := slices.IndexFunc(args, func(a string) bool { return strings.HasPrefix(a, "-") })
		if n < 0 {
			n = len(args)
		}
		out = append(out, command{fmt.Sprintf("README.md:%d", i+1), args[:n], flagNames(args)})
	}
	return out
}

var helpFlag = regexp.MustCompile(`--[a-z0-9][a-z0-9-]*`)

// TestFlagsExistInBinary runs ringtrain VERB --help for every container
// command and every ringtrain command in README.md, and checks that the
// verb exists and every flag used appears in its help.
func TestFlagsExistInBinary(t *testing.T) {
	cmds := commands(t)
	if n := len(cmds); n < 5 {
		t.Fatalf("found %d ringtrain commands, want the three containers' and README's certs and status", n)
	}
	bin := ringtrain(t)
	for _, c := range cmds {
		t.Run(c.where+"/"+strings.Join(c.verb, "_"), func(t *testing.T) {
			out, err := exec.Command(bin, append(slices.Clone(c.verb), "--help")...).CombinedOutput()
			if err != nil {
				t.Fatalf("ringtrain %s --help: %v\n%s", strings.Join(c.verb, " "), err, out)
			}
			// An unknown subcommand prints its parent's help: check the usage line.
			usage := "Usage:\n  ringtrain " + strings.Join(c.verb, " ")
			if !strings.Contains(string(out), usage+" ") && !strings.Contains(string(out), usage+"\n") {
				t.Fatalf("%s: %q is not a verb of this binary (no %q in its help)", c.where, strings.Join(c.verb, " "), usage)
			}
			have := helpFlag.FindAllString(string(out), -1)
			for _, f := range c.flags {
				if !slices.Contains(have, f) {
					t.Errorf("%s: ringtrain %s has no flag %s", c.where, strings.Join(c.verb, " "), f)
				}
			}
		})
	}
}
