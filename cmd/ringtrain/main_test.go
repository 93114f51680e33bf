package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// binary is the ringtrain binary built once for the CLI tests, so that the
// process-starting verbs run real child processes of a real binary.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ringtrain-cli")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "ringtrain")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cli runs the binary and returns stdout, stderr and the exit code.
func cli(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

func TestVersion(t *testing.T) {
	out, _, code := cli(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "ringtrain ") || !strings.Contains(out, "go1.") {
		t.Fatalf("version: code %d, %q", code, out)
	}
	out, _, _ = cli(t, nil, "version", "--json")
	if !strings.Contains(out, `"go_version"`) {
		t.Fatalf("version --json: %q", out)
	}
}

func TestHelpListsVerbs(t *testing.T) {
	out, _, code := cli(t, nil, "--help")
	if code != 0 || !strings.Contains(out, "bench") || !strings.Contains(out, "version") || !strings.Contains(out, "RINGTRAIN_") {
		t.Fatalf("help: code %d\n%s", code, out)
	}
}

func TestBadInputIsAClearError(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"unknown verb", nil, []string{"frobnicate"}, "unknown command"},
		{"bad size", nil, []string{"bench", "allreduce", "--sizes", "12Q"}, `size "12Q"`},
		{"odd size", nil, []string{"bench", "allreduce", "--sizes", "6"}, "not a whole number of float32"},
		{"bad world", nil, []string{"bench", "allreduce", "--world", "0"}, "world size 0"},
		{"bad algo", nil, []string{"bench", "allreduce", "--algo", "tree"}, `--algo "tree"`},
		{"bad segment", nil, []string{"bench", "allreduce", "--segment", "100"}, "SegmentBytes 100"},
		{"bad gomaxprocs", nil, []string{"bench", "allreduce", "--gomaxprocs", "lots"}, `--gomaxprocs "lots"`},
		{"negative gomaxprocs", nil, []string{"bench", "allreduce", "--gomaxprocs", "-2"}, `--gomaxprocs "-2"`},
		{"bad direct threshold", nil, []string{"bench", "allreduce", "--direct-threshold", "-1"}, "DirectBytes -1"},
		{"bad halving threshold", nil, []string{"bench", "allreduce", "--halving-threshold", "100000000"}, "HalvingBytes 100000000"},
		{"bad log level", nil, []string{"version", "--log-level", "loud"}, `--log-level "loud"`},
		{"bad env", []string{"RINGTRAIN_ITERS=many"}, []string{"bench", "allreduce"}, "RINGTRAIN_ITERS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := cli(t, tc.env, tc.args...)
			if code == 0 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q, want it to mention %q", code, stderr, tc.want)
			}
		})
	}
}

func TestBenchAllReduceRealProcesses(t *testing.T) {
	out, stderr, code := cli(t, nil, "bench", "allreduce", "--world", "3", "--sizes", "4K,1M", "--iters", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "busbw") {
		t.Fatalf("table:\n%s", out)
	}
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) < 8 || f[0] != "3" || f[len(f)-1] != "0.0e+00" {
			t.Fatalf("row %q: want world 3 and zero error", l)
		}
	}
}

func TestBenchAllReduceCSVForTheHarness(t *testing.T) {
	// The environment sets flags too (RINGTRAIN_<FLAG>).
	out, stderr, code := cli(t, []string{"RINGTRAIN_ITERS=3", "RINGTRAIN_DATA=random"}, "bench", "allreduce", "--worlds", "1,2", "--sizes", "64K", "--csv")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if lines[0] != "impl,world,bytes,median_s,algbw_GBps,busbw_GBps" || len(lines) != 3 {
		t.Fatalf("csv:\n%s", out)
	}
	for i, l := range lines[1:] {
		f := strings.Split(l, ",")
		if len(f) != 6 || f[0] != "ringtrain" || f[1] != fmt.Sprint(i+1) || f[2] != "65536" {
			t.Fatalf("csv line %q", l)
		}
	}
}
