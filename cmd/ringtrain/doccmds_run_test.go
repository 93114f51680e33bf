package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// docStepTimeout bounds one command (a Compose cluster coming up and
// training included).
const docStepTimeout = 4 * time.Minute

// runGroup runs one group's steps in order in a fresh directory that
// mirrors the repository root, with the test's binary first on PATH as
// `ringtrain`.
func runGroup(t *testing.T, root string, cmds []docCommand, g docGroup) {
	if why := missing(g.Needs); why != "" {
		t.Skipf("not run on this machine: %s", why)
	}
	dir := mirror(t, root)
	for name, content := range g.Files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := &groupRun{dir: dir, envFile: filepath.Join(t.TempDir(), "env"),
		env: append(os.Environ(), "PATH="+filepath.Dir(binary)+string(os.PathListSeparator)+os.Getenv("PATH"))}
	for _, e := range g.Env {
		r.setEnv(strings.ReplaceAll(e, "%PID%", strconv.Itoa(os.Getpid())))
	}
	if g.Cleanup != "" {
		t.Cleanup(func() {
			if res := r.run(g.Cleanup, nil); res.err != nil || res.code != 0 {
				t.Errorf("cleanup %q: exit %d %v\n%s", g.Cleanup, res.code, res.err, tail(res.out))
			}
		})
	}
	lines := map[string]int{}
	for _, c := range cmds {
		if _, ok := lines[docKey(c.File, c.Text)]; !ok {
			lines[docKey(c.File, c.Text)] = c.Line
		}
	}
	earlier := ""
	for _, s := range g.Steps {
		label := fmt.Sprintf("%s:%d: %s", s.File, lines[docKey(s.File, s.Doc)], s.Doc)
		if s.Doc == "" {
			label = "setup (" + s.Note + "): " + s.Run
		}
		switch {
		case s.Skip != "":
			t.Logf("skipped %s\n    why: %s", label, s.Skip)
			continue
		case s.SameAs != "":
			t.Logf("run by %s's plan: %s", s.SameAs, label)
			continue
		case s.Covered != "":
			t.Logf("skipped %s\n    why: %s runs in make test (this package); -count=20 repeats it for the measurement", label, s.Covered)
			continue
		}
		if why := missing(s.Needs); why != "" {
			t.Logf("not run on this machine (%s): %s", why, label)
			continue
		}
		line := s.Run
		if line == "" {
			line = s.Doc
		}
		if err := r.step(t, line, s); err != nil {
			t.Errorf("%s\n    ran: %s%s\n    %v", label, line, earlier, err)
			if earlier == "" {
				earlier = "\n    (after an earlier failure in this sequence)"
			}
			continue
		}
		t.Logf("ok %s", label)
	}
}

// groupRun is the state a sequence shares: its directory and the
// environment, which `export` lines change for the commands after them.
type groupRun struct {
	dir, envFile string
	env          []string
}

type runResult struct {
	out         string
	code        int
	interrupted bool
	err         error
}

var exportRE = regexp.MustCompile(`^export\s+([A-Za-z_][A-Za-z0-9_]*)=`)

// step runs one command (retrying it if asked), checks its exit status
// and output, and carries an export into the group's environment.
func (r *groupRun) step(t *testing.T, line string, s docStep) error {
	shell := line
	exported := exportRE.FindStringSubmatch(line)
	if exported != nil {
		shell = line + ` && env -0 >"$DOCCMDS_ENV"`
	}
	start := time.Now()
	for {
		res := r.run(shell, s.Interrupt)
		err := res.check(s.Want)
		if err == nil || s.Retry == 0 || time.Since(start) > s.Retry {
			if err == nil && res.interrupted {
				t.Logf("interrupted once the checkpoint of step %d was committed", s.Interrupt.Step)
			} else if err == nil && s.Interrupt != nil {
				t.Logf("finished before the checkpoint of step %d was committed: not interrupted", s.Interrupt.Step)
			}
			if err == nil && exported != nil {
				return r.importEnv(exported[1])
			}
			return err
		}
		time.Sleep(2 * time.Second)
	}
}

// check: exit status 0 (or any, after an interrupt) and the wanted text.
func (res runResult) check(want string) error {
	switch {
	case res.err != nil:
		return fmt.Errorf("%w\n%s", res.err, tail(res.out))
	case res.code != 0 && !res.interrupted:
		return fmt.Errorf("exit status %d; output:\n%s", res.code, tail(res.out))
	case want != "" && !strings.Contains(res.out, want):
		return fmt.Errorf("exit status %d but the output lacks %q:\n%s", res.code, want, tail(res.out))
	}
	return nil
}

// run runs a shell line in its own process group in the group's
// directory; the whole group is killed when it returns, so nothing it
// started outlives it.
func (r *groupRun) run(line string, intr *interruptAt) runResult {
	ctx, cancel := context.WithTimeout(context.Background(), docStepTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", line)
	cmd.Dir = r.dir
	cmd.Env = append(append([]string(nil), r.env...), "DOCCMDS_ENV="+r.envFile)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		return runResult{err: fmt.Errorf("start bash: %w", err)}
	}
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	var (
		wg          sync.WaitGroup
		interrupted bool
	)
	done := make(chan struct{})
	if intr != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			interrupted = interruptWhenCommitted(filepath.Join(r.dir, intr.Dir), intr.Step, cmd.Process.Pid, done)
		}()
	}
	err := cmd.Wait()
	close(done)
	wg.Wait()
	res := runResult{out: out.String(), interrupted: interrupted}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		res.err = fmt.Errorf("timed out after %v", docStepTimeout)
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		res.err = err
	}
	return res
}

// interruptWhenCommitted polls dir/LATEST and sends SIGINT to process
// group pgid once it names a step ≥ step; it returns whether it did,
// when done is closed at the latest.
func interruptWhenCommitted(dir string, step int64, pgid int, done <-chan struct{}) bool {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return false
		case <-tick.C:
		}
		b, err := os.ReadFile(filepath.Join(dir, "LATEST"))
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(string(b)), "step-"), 10, 64)
		if err == nil && n >= step {
			return syscall.Kill(-pgid, syscall.SIGINT) == nil
		}
	}
}

// setEnv sets NAME=value in the group's environment.
func (r *groupRun) setEnv(kv string) {
	name, _, _ := strings.Cut(kv, "=")
	env := r.env[:0]
	for _, e := range r.env {
		if !strings.HasPrefix(e, name+"=") {
			env = append(env, e)
		}
	}
	r.env = append(env, kv)
}

// importEnv takes variable name from the environment an export line left
// in envFile.
func (r *groupRun) importEnv(name string) error {
	b, err := os.ReadFile(r.envFile)
	if err != nil {
		return fmt.Errorf("the environment after the export: %w", err)
	}
	for _, kv := range strings.Split(string(b), "\x00") {
		if strings.HasPrefix(kv, name+"=") {
			r.setEnv(kv)
			return nil
		}
	}
	return fmt.Errorf("the export left no %s in the environment", name)
}

// mirror makes a directory holding a symlink to every top-level entry of
// the repository except .git, bin and runs (which commands write).
func mirror(t *testing.T, root string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil { // containers (user 65534) read job files here
		t.Fatal(err)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch e.Name() {
		case ".git", "bin", "runs":
			continue
		}
		if err := os.Symlink(filepath.Join(root, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// missing says why this machine lacks what a step needs ("" if it has it).
func missing(need string) string {
	switch need {
	case "":
		return ""
	case "docker":
		if err := exec.Command("docker", "info").Run(); err != nil {
			return "no Docker engine (docker info: " + err.Error() + ")"
		}
		if _, err := exec.LookPath("docker-compose"); err != nil {
			return "no docker-compose"
		}
		return ""
	case "openblas":
		out, _ := exec.Command("ldconfig", "-p").Output()
		if !bytes.Contains(out, []byte("libopenblas.so (")) {
			return "no OpenBLAS to link with (apt-get install libopenblas-dev)"
		}
		return ""
	}
	return "unknown need " + need
}

// tail is the end of a command's output, enough to see why it failed.
func tail(s string) string {
	const max = 4000
	if len(s) > max {
		s = "[...]\n" + s[len(s)-max:]
	}
	return strings.TrimRight(s, "\n")
}
