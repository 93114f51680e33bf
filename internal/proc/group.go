package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Group owns a set of child processes.
type Group struct {
	mu       sync.Mutex
	children []*Child
	stopped  bool
}

// Child is one started process. Stdin and Stdout are pipes when requested.
type Child struct {
	Name   string
	Cmd    *exec.Cmd
	Stdin  io.WriteCloser
	Stdout io.ReadCloser
	done   chan struct{}
	err    error
}

// Spec describes a child to start.
type Spec struct {
	Name string   // for error messages, e.g. "rank 2"
	Path string   // executable; "" = this binary (os.Executable)
	Args []string // arguments after the program name
	Env  []string // added to the parent's environment
	// Pipes: give the child a stdin pipe and a stdout pipe (else stdout
	// goes to Output).
	Pipes  bool
	Output io.Writer // stdout when !Pipes (nil = discard)
	Stderr io.Writer // nil = the parent's stderr
	// ExtraFiles are inherited by the child as fds 3, 4, ... (exec.Cmd's
	// ExtraFiles); the parent keeps and closes its own.
	ExtraFiles []*os.File
}

// Start starts a child. After Stop it refuses.
func (g *Group) Start(spec Spec) (*Child, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return nil, errors.New("proc: group stopped")
	}
	path := spec.Path
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("proc: locate own binary: %w", err)
		}
		path = exe
	}
	cmd := exec.Command(path, spec.Args...)
	cmd.Env = append(os.Environ(), spec.Env...)
	cmd.SysProcAttr = sysProcAttr()
	cmd.ExtraFiles = spec.ExtraFiles
	cmd.Stderr = spec.Stderr
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	c := &Child{Name: spec.Name, Cmd: cmd, done: make(chan struct{})}
	var pw *os.File
	if spec.Pipes {
		var err error
		if c.Stdin, err = cmd.StdinPipe(); err != nil {
			return nil, fmt.Errorf("proc: %s: %w", spec.Name, err)
		}
		// Not cmd.StdoutPipe: Wait would close it at exit, losing output the
		// parent has not read yet. Our own pipe lets the reader drain to EOF.
		var pr *os.File
		if pr, pw, err = os.Pipe(); err != nil {
			return nil, fmt.Errorf("proc: %s: %w", spec.Name, err)
		}
		c.Stdout, cmd.Stdout = pr, pw
	} else {
		cmd.Stdout = spec.Output
	}
	err := cmd.Start()
	if pw != nil {
		pw.Close() // the child holds its own copy
	}
	if err != nil {
		if c.Stdout != nil {
			c.Stdout.Close()
		}
		return nil, fmt.Errorf("proc: start %s: %w", spec.Name, err)
	}
	g.children = append(g.children, c)
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// Done is closed when the child has exited.
func (c *Child) Done() <-chan struct{} { return c.done }

// Err is the child's exit error (nil for exit status 0); valid after Done.
func (c *Child) Err() error { return c.err }

// Wait waits for the child to exit or ctx to end.
func (c *Child) Wait(ctx context.Context) error {
	select {
	case <-c.done:
		if c.err != nil {
			return fmt.Errorf("%s: %w", c.Name, c.err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Children returns the started children.
func (g *Group) Children() []*Child {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]*Child(nil), g.children...)
}

// Stop terminates every child still running: SIGTERM, then SIGKILL after
// grace, and waits until all have exited. Idempotent.
func (g *Group) Stop(grace time.Duration) {
	g.mu.Lock()
	g.stopped = true
	children := append([]*Child(nil), g.children...)
	g.mu.Unlock()
	for _, c := range children {
		select {
		case <-c.done:
		default:
			c.Cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	for _, c := range children {
		select {
		case <-c.done:
		case <-timer.C:
			for _, k := range children {
				k.Cmd.Process.Kill()
			}
			<-c.done
		}
	}
	for _, c := range children {
		<-c.done
		if c.Stdout != nil {
			c.Stdout.Close()
		}
	}
}
