//go:build linux

package route

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/transport/tcp"
)

// The child process of the cross-process tests: rank 1 of a world of 2 with
// the parent as rank 0. It prints its address, reads the parent's, links,
// runs Establish, prints whether it shares memory with rank 0, then runs
// all-reduces until its stdin closes (mode "serve") or blocks for ever in a
// receive (mode "hang").
const childEnv = "ROUTE_TEST_CHILD"

func runChild() int {
	fail := func(err error) int { fmt.Println("error:", err); return 1 }
	ln, err := tcp.Listen("127.0.0.1:0", tcpConfig())
	if err != nil {
		return fail(err)
	}
	defer ln.Close()
	fmt.Println(ln.Addr())
	in := bufio.NewScanner(os.Stdin)
	if !in.Scan() {
		return fail(fmt.Errorf("no parent address"))
	}
	ctx := context.Background()
	nt, err := ln.Connect(ctx, tcp.Spec{Generation: 11, Rank: 1, Size: 2, Peers: map[int]string{0: in.Text()}})
	if err != nil {
		return fail(err)
	}
	tr, info, err := Establish(ctx, nt, Options{Logger: quiet()})
	if err != nil {
		nt.Close()
		return fail(err)
	}
	defer tr.Close()
	fmt.Printf("shared=%v fallback=%q\n", tr.Shared(0), info.Fallback)
	c, err := allreduce.New(tr, allreduce.DefaultConfig())
	if err != nil {
		return fail(err)
	}
	defer c.Close()
	if os.Getenv(childEnv) == "hang" {
		select {}
	}
	buf := make([]float32, 200_000)
	for i := range buf {
		buf[i] = float32(i % 5)
	}
	if err := c.AllReduce(ctx, buf, allreduce.Sum); err != nil {
		return fail(err)
	}
	fmt.Println("done")
	return 0
}

// startChild starts the child and links to it as rank 0.
func startChild(t *testing.T, mode string) (*Transport, Info, *exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	out := bufio.NewScanner(stdout)
	if !out.Scan() {
		t.Fatal("child printed no address")
	}
	childAddr := out.Text()
	ln, err := tcp.Listen("127.0.0.1:0", tcpConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	fmt.Fprintln(stdin, ln.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nt, err := ln.Connect(ctx, tcp.Spec{Generation: 11, Rank: 0, Size: 2, Peers: map[int]string{1: childAddr}})
	if err != nil {
		t.Fatal(err)
	}
	tr, info, err := Establish(ctx, nt, Options{Logger: quiet()})
	if err != nil {
		nt.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	if !out.Scan() {
		t.Fatal("child said nothing after Establish")
	}
	if got := out.Text(); got != `shared=true fallback=""` {
		t.Fatalf("child: %s", got)
	}
	return tr, info, cmd, out
}

// Two independently started processes find each other's host key equal,
// hand the segment over through /proc and all-reduce through it.
func TestSharedMemoryAcrossProcesses(t *testing.T) {
	if _, err := HostKey(); err != nil {
		t.Skipf("no host key here: %v", err)
	}
	tr, info, cmd, out := startChild(t, "serve")
	if !tr.Shared(1) || info.Fallback != "" {
		t.Fatalf("parent: shared %v, info %+v", tr.Shared(1), info)
	}
	c, err := allreduce.New(tr, allreduce.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]float32, 200_000)
	for i := range buf {
		buf[i] = float32(i%5) * 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.AllReduce(ctx, buf, allreduce.Sum); err != nil {
		t.Fatal(err)
	}
	for i, v := range buf {
		if want := float32(i%5) * 3; v != want {
			t.Fatalf("[%d] = %v, want %v", i, v, want)
		}
	}
	if !out.Scan() || out.Text() != "done" {
		t.Fatalf("child: %q", out.Text())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
}

// A killed peer on shared memory makes the survivor's receive fail fast.
func TestKilledPeerProcessFailsFast(t *testing.T) {
	if _, err := HostKey(); err != nil {
		t.Skipf("no host key here: %v", err)
	}
	tr, _, cmd, _ := startChild(t, "hang")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- tr.Recv(ctx, 1, allreduce.Tag{Op: allreduce.OpBarrier, Seq: 1}, make([]float32, 8)) }()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	cmd.Process.Signal(syscall.SIGKILL)
	err := <-errc
	if err == nil || !strings.Contains(err.Error(), "shared memory") {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("noticed the kill after %v", d)
	}
}
