package tcp

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/allreduce"
)

// Frames far larger than the socket buffers leave the raw writev in many
// partial writes, some ending inside the header's iovec or the payload's,
// with the goroutine parked on a full buffer in between: every byte
// arrives, in order, whatever the reader's pace.
func TestRawWriterPartialWrites(t *testing.T) {
	cfg := testConfig(nil)
	cfg.SocketBufferBytes = 64 << 10
	a, b := listen(t, cfg), listen(t, cfg)
	t0, t1 := pair(t, a, b, 1)
	if t0.peers[1].w == nil {
		t.Fatal("no raw frame writer on a TCP link")
	}
	sizes := []int{0, 1, 3 << 20, 7, 5<<20 + 3}
	done := make(chan error, 1)
	go func() {
		for i, n := range sizes {
			data := make([]float32, n)
			for j := range data {
				data[j] = float32(i*1_000_003 + j)
			}
			if err := t0.Send(context.Background(), 1, allreduce.Tag{Step: uint32(i)}, data); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i, n := range sizes {
		time.Sleep(10 * time.Millisecond) // let the sender fill the buffers and park
		got := make([]float32, n)
		if err := t1.Recv(context.Background(), 0, allreduce.Tag{Step: uint32(i)}, got); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		for j, v := range got {
			if v != float32(i*1_000_003+j) {
				t.Fatalf("frame %d [%d] = %v", i, j, v)
			}
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A send that cannot make progress (the peer reads nothing) fails with
// ErrTimeout after IOTimeout, and Abort unblocks one at once.
func TestRawWriterTimeoutAndAbort(t *testing.T) {
	cfg := testConfig(nil)
	cfg.IOTimeout = 200 * time.Millisecond
	cfg.SocketBufferBytes = 64 << 10
	a, b := listen(t, cfg), listen(t, cfg)
	t0, _ := pair(t, a, b, 1)
	start := time.Now()
	err := t0.Send(context.Background(), 1, allreduce.Tag{}, make([]float32, 4<<20))
	if !errors.Is(err, allreduce.ErrTimeout) {
		t.Fatalf("want ErrTimeout, got %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("timed out after %v", d)
	}

	cfg.IOTimeout = time.Minute
	c, d := listen(t, cfg), listen(t, cfg)
	t2, _ := pair(t, c, d, 1)
	res := make(chan error, 1)
	go func() { res <- t2.Send(context.Background(), 1, allreduce.Tag{}, make([]float32, 4<<20)) }()
	time.Sleep(50 * time.Millisecond)
	t2.Abort()
	select {
	case err := <-res:
		if !errors.Is(err, allreduce.ErrAborted) {
			t.Fatalf("want ErrAborted, got %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Abort did not unblock the send")
	}
}
