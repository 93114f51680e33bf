//go:build linux

package shm

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/internal/testutil"
)

func sharedTag(i int) allreduce.Tag {
	return allreduce.Tag{Op: allreduce.OpAllReduceShared, Seq: uint32(i + 1)}
}

// sharedReference is the shared all-reduce's result by its definition: in
// blocks of block values, chunk k of a block (allreduce.ShardRange) is rank
// k's values combined with every other rank's, in rank order.
func sharedReference(in [][]float32, block int, op allreduce.ReduceOp) []float32 {
	size, n := len(in), len(in[0])
	out := make([]float32, n)
	for off := 0; off < n; off += block {
		m := min(block, n-off)
		for k := range size {
			lo, hi := allreduce.ShardRange(m, size, k)
			for i := off + lo; i < off+hi; i++ {
				v := in[k][i]
				for r := range size {
					if r == k {
						continue
					}
					switch x := in[r][i]; {
					case op != allreduce.Max:
						v += x
					case x > v || x != x:
						v = x
					}
				}
				out[i] = v
			}
		}
	}
	return out
}

// runShared runs one shared all-reduce on every rank at once.
func runShared(ts []*Transport, seq int, bufs [][]float32, op allreduce.ReduceOp) []error {
	errs := make([]error, len(ts))
	var wg sync.WaitGroup
	for r, tr := range ts {
		wg.Go(func() { errs[r] = tr.SharedAllReduce(context.Background(), sharedTag(seq), bufs[r], op) })
	}
	wg.Wait()
	return errs
}

// Every rank ends with exactly the reference's bits, for lengths below one
// chunk per rank, at and across block boundaries, over several calls in a
// row (both halves of every staging area, reused).
func TestSharedAllReduceMatchesReference(t *testing.T) {
	block := stageHalfBytes(MinRingBytes) / 4
	rng := rand.New(rand.NewPCG(3, 4))
	for size := 2; size <= 5; size++ {
		ts := attachAll(t, Spec{Generation: 2, Size: size, RingBytes: MinRingBytes}, Config{IOTimeout: 10 * time.Second})
		seq := 0
		for _, n := range []int{1, size - 1, size + 1, block - 1, block, 2*block + 3, 7*block + 11} {
			for _, op := range []allreduce.ReduceOp{allreduce.Sum, allreduce.Max} {
				seq++
				in := make([][]float32, size)
				bufs := make([][]float32, size)
				for r := range in {
					in[r] = make([]float32, n)
					for i := range in[r] {
						in[r][i] = rng.Float32()*2 - 1
					}
					bufs[r] = append([]float32(nil), in[r]...)
				}
				for r, err := range runShared(ts, seq, bufs, op) {
					if err != nil {
						t.Fatalf("world %d n %d %v rank %d: %v", size, n, op, r, err)
					}
				}
				want := sharedReference(in, block, op)
				for r := range bufs {
					if i := testutil.FirstBitDiff(want, bufs[r]); i >= 0 {
						t.Fatalf("world %d n %d %v rank %d: element %d is %v, reference %v", size, n, op, r, i, bufs[r][i], want[i])
					}
				}
			}
		}
	}
}

// Ranks that make different calls (length, op or sequence number) fail
// with ErrProtocol instead of combining unrelated buffers; their peers
// fail too, and nobody hangs.
func TestSharedAllReduceMismatchIsProtocolError(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    [2]int
		op   [2]allreduce.ReduceOp
		seq  [2]int
	}{
		{"length", [2]int{1000, 1001}, [2]allreduce.ReduceOp{allreduce.Sum, allreduce.Sum}, [2]int{1, 1}},
		{"op", [2]int{1000, 1000}, [2]allreduce.ReduceOp{allreduce.Sum, allreduce.Max}, [2]int{1, 1}},
		{"seq", [2]int{1000, 1000}, [2]allreduce.ReduceOp{allreduce.Sum, allreduce.Sum}, [2]int{1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := attachAll(t, Spec{Generation: 1, Size: 2, RingBytes: MinRingBytes}, Config{IOTimeout: 10 * time.Second})
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for r := range 2 {
				wg.Go(func() {
					errs[r] = ts[r].SharedAllReduce(context.Background(), sharedTag(tc.seq[r]), make([]float32, tc.n[r]), tc.op[r])
				})
			}
			wg.Wait()
			protocol := 0
			for r, err := range errs {
				if err == nil {
					t.Fatalf("rank %d: no error", r)
				}
				if errors.Is(err, allreduce.ErrProtocol) {
					protocol++
				}
			}
			if protocol == 0 {
				t.Fatalf("no rank reports ErrProtocol: %v", errs)
			}
		})
	}
}

// An aborted rank makes its peers' shared all-reduces fail with
// ErrPeerLost, and its own later calls with ErrAborted; a closed transport
// refuses calls with ErrClosed.
func TestSharedAllReduceAbortAndClose(t *testing.T) {
	ts := attachAll(t, Spec{Generation: 1, Size: 3, RingBytes: MinRingBytes}, Config{})
	res := make(chan error, 2)
	for r := range 2 {
		go func() {
			res <- ts[r].SharedAllReduce(context.Background(), sharedTag(0), make([]float32, 100_000), allreduce.Sum)
		}()
	}
	time.Sleep(30 * time.Millisecond)
	ts[2].Abort()
	for range 2 {
		select {
		case err := <-res:
			if !errors.Is(err, allreduce.ErrPeerLost) && !errors.Is(err, allreduce.ErrAborted) {
				t.Fatalf("want ErrPeerLost (or ErrAborted: the first failure aborts its rank), got %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a shared all-reduce still waits on an aborted rank")
		}
	}
	if err := ts[2].SharedAllReduce(context.Background(), sharedTag(1), make([]float32, 10), allreduce.Sum); !errors.Is(err, allreduce.ErrAborted) {
		t.Fatalf("after Abort: %v", err)
	}
	ts[2].Close()
	if err := ts[2].SharedAllReduce(context.Background(), sharedTag(1), make([]float32, 10), allreduce.Sum); !errors.Is(err, allreduce.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// A cancelled context and the I/O timeout end a wait for a peer that never
// comes.
func TestSharedAllReduceContextAndTimeout(t *testing.T) {
	ts := attachAll(t, Spec{Generation: 1, Size: 2, RingBytes: MinRingBytes}, Config{IOTimeout: 50 * time.Millisecond})
	if err := ts[0].SharedAllReduce(context.Background(), sharedTag(0), make([]float32, 1000), allreduce.Sum); !errors.Is(err, allreduce.ErrTimeout) {
		t.Fatalf("want ErrTimeout, got %v", err)
	}
	ts = attachAll(t, Spec{Generation: 1, Size: 2, RingBytes: MinRingBytes}, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := ts[0].SharedAllReduce(ctx, sharedTag(0), make([]float32, 1000), allreduce.Sum); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the context's error, got %v", err)
	}
}

// Two processes, each with its own mapping, all-reduce through their
// staging areas: every round's sum is exact.
func TestSharedAllReduceAcrossProcesses(t *testing.T) {
	const n = 100_003 // several 16 Ki-value blocks
	tr, cmd := rankZeroWithChild(t, 5, Config{IOTimeout: 20 * time.Second}, "shared", n)
	buf := make([]float32, n)
	for i := range childRounds {
		for j := range buf {
			buf[j] = float32(2 * j)
		}
		if err := tr.SharedAllReduce(context.Background(), sharedTag(i), buf, allreduce.Sum); err != nil {
			t.Fatal(err)
		}
		for j, v := range buf {
			if want := float32(3*j + i); v != want {
				t.Fatalf("round %d [%d] = %v, want %v", i, j, v, want)
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
}

// Sleepers on one event (a staging area's has one per peer) count
// themselves: one that wakes leaves the others' announcement, so a publish
// still wakes them.
func TestEventCountsSleepers(t *testing.T) {
	ts := attachAll(t, Spec{Generation: 1, Size: 3, RingBytes: MinRingBytes}, Config{})
	ev := ts[0].stages[0].ev
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			var b backoff
			for {
				select {
				case <-stop:
					return
				default:
				}
				b.sleepOn(ev, func() bool { return false })
			}
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	for ev.waiting.Load() != 2 {
		if time.Now().After(deadline) {
			close(stop)
			wg.Wait()
			t.Fatal("never saw both sleepers announced at once")
		}
		time.Sleep(50 * time.Microsecond)
	}
	close(stop)
	wg.Wait()
	if n := ev.waiting.Load(); n != 0 {
		t.Fatalf("%d sleepers announced after both left", n)
	}
}
