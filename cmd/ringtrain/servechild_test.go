package main

import (
	"bufio"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serveChild is a ringtrain serve process started by a test.
type serveChild struct {
	cmd     *exec.Cmd
	base    string // http://HOST:PORT
	rest    strings.Builder
	drained chan struct{} // closed when its stderr ends
}

// startServe runs ringtrain serve with args and --addr 127.0.0.1:0, and
// waits for the line naming its address; model is the name it must serve
// ("" for any). The process is killed when the test ends.
func startServe(t *testing.T, model string, args ...string) *serveChild {
	t.Helper()
	s := &serveChild{cmd: exec.Command(binary, append(append([]string{"serve"}, args...), "--addr", "127.0.0.1:0")...), drained: make(chan struct{})}
	errPipe, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.cmd.Process.Kill(); s.cmd.Wait() })
	name := `[^/]+`
	if model != "" {
		name = regexp.QuoteMeta(model) + "$"
	}
	addrRE := regexp.MustCompile(`on (http://[^/]+)/v2/models/` + name)
	sc := bufio.NewScanner(errPipe)
	for sc.Scan() {
		if m := addrRE.FindStringSubmatch(sc.Text()); m != nil {
			s.base = m[1]
			break
		}
	}
	if s.base == "" {
		t.Fatalf("serve printed no address: %v", sc.Err())
	}
	go func() {
		io.Copy(&s.rest, errPipe)
		close(s.drained)
	}()
	return s
}

// stop sends SIGTERM and checks that serve drains and exits 0 within 15 s;
// it returns what serve wrote to stderr after its address line.
func (s *serveChild) stop(t *testing.T) string {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.drained:
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not exit after SIGTERM")
	}
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("serve after SIGTERM: %v\n%s", err, s.rest.String())
	}
	return s.rest.String()
}
