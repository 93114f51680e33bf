//go:build linux

package shm

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/allreduce"
)

// A child process of this test binary attaches rank 1 of the segment it is
// handed as fd 3 and then, by mode, echoes frames or waits.
const (
	childEnv    = "RINGTRAIN_SHM_TEST_CHILD"
	childGenEnv = "RINGTRAIN_SHM_TEST_GEN"
	childNEnv   = "RINGTRAIN_SHM_TEST_N"
	childRounds = 5
)

func echoTag(i int) allreduce.Tag {
	return allreduce.Tag{Op: allreduce.OpBroadcast, Seq: uint32(i + 1)}
}

// runChild is the child's main: "echo" receives childRounds frames of n
// values from rank 0 and sends each back with every value plus one;
// "shared" runs childRounds shared all-reduces of n values, each value its
// index plus the round; "wait" stays attached and reads nothing until it
// is killed.
func runChild(mode string) int {
	gen, _ := strconv.ParseUint(os.Getenv(childGenEnv), 10, 64)
	n, _ := strconv.Atoi(os.Getenv(childNEnv))
	f := os.NewFile(3, "segment")
	t, err := Attach(f, gen, 1, Config{IOTimeout: 20 * time.Second})
	f.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "child attach:", err)
		return 2
	}
	defer t.Close()
	ctx := context.Background()
	fmt.Println("ready")
	switch mode {
	case "echo":
		buf := make([]float32, n)
		for i := range childRounds {
			if err := t.Recv(ctx, 0, echoTag(i), buf); err != nil {
				fmt.Fprintln(os.Stderr, "child recv:", err)
				return 1
			}
			for j := range buf {
				buf[j]++
			}
			if err := t.Send(ctx, 0, echoTag(i), buf); err != nil {
				fmt.Fprintln(os.Stderr, "child send:", err)
				return 1
			}
		}
	case "shared":
		buf := make([]float32, n)
		for i := range childRounds {
			for j := range buf {
				buf[j] = float32(j + i)
			}
			if err := t.SharedAllReduce(ctx, sharedTag(i), buf, allreduce.Sum); err != nil {
				fmt.Fprintln(os.Stderr, "child shared all-reduce:", err)
				return 1
			}
		}
	case "wait":
		time.Sleep(time.Minute) // attached, alive, reading nothing

	}
	return 0
}

// startChild runs this test binary as rank 1 of seg and waits until it has
// attached.
func startChild(t *testing.T, seg *Segment, mode string, n int) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode,
		childGenEnv+"="+strconv.FormatUint(seg.Spec().Generation, 10), childNEnv+"="+strconv.Itoa(n))
	cmd.ExtraFiles = []*os.File{seg.File()}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("child did not attach: %q, %v", line, err)
	}
	return cmd
}

// rankZeroWithChild creates a world of 2 of generation gen, attaches rank 0
// here with cfg and starts the child in mode as rank 1 (startChild).
func rankZeroWithChild(t *testing.T, gen uint64, cfg Config, mode string, n int) (*Transport, *exec.Cmd) {
	t.Helper()
	seg, err := Create(Spec{Generation: gen, Size: 2, RingBytes: MinRingBytes})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { seg.Close() })
	tr, err := Attach(seg.File(), gen, 0, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr, startChild(t, seg, mode, n)
}

// Two processes, each with its own mapping: frames larger than the ring
// stream through it intact, in order.
func TestFramesAcrossProcesses(t *testing.T) {
	const n = 100_003 // 400 KB frames through 64 KiB rings
	tr, cmd := rankZeroWithChild(t, 3, Config{IOTimeout: 20 * time.Second}, "echo", n)
	ctx := context.Background()
	in := make([]float32, n)
	out := make([]float32, n)
	for i := range childRounds {
		for j := range in {
			in[j] = float32(i*n + j)
		}
		if err := tr.Send(ctx, 1, echoTag(i), in); err != nil {
			t.Fatal(err)
		}
		if err := tr.Recv(ctx, 1, echoTag(i), out); err != nil {
			t.Fatal(err)
		}
		for j := range out {
			if out[j] != in[j]+1 {
				t.Fatalf("round %d [%d] = %v, want %v", i, j, out[j], in[j]+1)
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
}

// A peer process killed while this rank waits on it (in Recv on an empty
// ring, in Send on a full one, or in a shared all-reduce for the peer's
// staged chunk) fails the call fast with ErrPeerLost.
func TestKilledPeerProcessFailsFast(t *testing.T) {
	for _, blocked := range []string{"recv", "send", "shared"} {
		t.Run(blocked, func(t *testing.T) {
			tr, cmd := rankZeroWithChild(t, 1, Config{}, "wait", 1)
			res := make(chan error, 1)
			go func() {
				switch blocked {
				case "recv":
					res <- tr.Recv(context.Background(), 1, echoTag(0), make([]float32, 1))
				case "shared":
					res <- tr.SharedAllReduce(context.Background(), sharedTag(0), make([]float32, 100_000), allreduce.Sum)
				default:
					// Four rings' worth: the child reads none of it.
					res <- tr.Send(context.Background(), 1, echoTag(0), make([]float32, 4*MinRingBytes))
				}
			}()
			time.Sleep(50 * time.Millisecond)
			t0 := time.Now()
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-res:
				if !errors.Is(err, allreduce.ErrPeerLost) {
					t.Fatalf("want ErrPeerLost, got %v", err)
				}
				t.Logf("failed %v after the kill: %v", time.Since(t0), err)
			case <-time.After(time.Second):
				t.Fatal("call still blocked a second after the peer was killed")
			}
		})
	}
}
