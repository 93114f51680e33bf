package allreduce_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/internal/testutil"
)

// group is one generation: a Comm per rank over a fabric.
type group struct {
	comms []*allreduce.Comm
	ts    []allreduce.Transport
	kill  func(int)
}

func newGroup(t *testing.T, f fabric, size int, cfg allreduce.Config) *group {
	t.Helper()
	ts, kill := f.build(t, size)
	g := &group{ts: ts, kill: kill}
	for _, tr := range ts {
		c, err := allreduce.New(tr, cfg)
		if err != nil {
			t.Fatal(err)
		}
		g.comms = append(g.comms, c)
	}
	t.Cleanup(func() {
		for _, c := range g.comms {
			c.Close()
		}
	})
	return g
}

// run calls fn on every rank concurrently and returns the errors by rank.
func (g *group) run(fn func(r int, c *allreduce.Comm) error) []error {
	errs := make([]error, len(g.comms))
	var wg sync.WaitGroup
	for r, c := range g.comms {
		wg.Go(func() { errs[r] = fn(r, c) })
	}
	wg.Wait()
	return errs
}

func mustAll(t *testing.T, errs []error) {
	t.Helper()
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
}

func randomInputs(size, n int, seed uint64) [][]float32 {
	rng := rand.New(rand.NewPCG(seed, 7))
	in := make([][]float32, size)
	for r := range in {
		in[r] = make([]float32, n)
		for i := range in[r] {
			in[r][i] = float32(rng.NormFloat64())
		}
	}
	return in
}

// reference is the dumb all-reduce: a float64 sum over ranks per element.
func reference(in [][]float32, op allreduce.ReduceOp) []float64 {
	n := len(in[0])
	out := make([]float64, n)
	for i := range n {
		acc := float64(in[0][i])
		for r := 1; r < len(in); r++ {
			v := float64(in[r][i])
			if op == allreduce.Max {
				acc = math.Max(acc, v)
			} else {
				acc += v
			}
		}
		if op == allreduce.Mean {
			acc /= float64(len(in))
		}
		out[i] = acc
	}
	return out
}

// checkClose compares got with the reference: float32 sums of N normal
// values in any order are within a few ulps of N·max|x|.
func checkClose(t *testing.T, got []float32, want []float64, size int) {
	t.Helper()
	tol := 1e-6 * float64(size) * 8
	for i := range want {
		if d := math.Abs(float64(got[i]) - want[i]); d > tol*math.Max(1, math.Abs(want[i])) {
			t.Fatalf("element %d: got %v, reference %v (diff %g)", i, got[i], want[i], d)
		}
	}
}

func lengthsFor(size int) []int {
	return []int{0, 1, max(size-1, 0), size + 1, 1_000_003}
}

func smallCfg() allreduce.Config {
	// Small segments make every length exercise multi-segment pipelining.
	return allreduce.Config{SegmentBytes: 16 << 10, SmallBytes: 8 << 10}
}

func TestAllReduceMatchesReference(t *testing.T) {
	for _, f := range fabrics {
		for size := 1; size <= 8; size++ {
			t.Run(fmt.Sprintf("%s/world%d", f.name, size), func(t *testing.T) {
				if testing.Short() && size > 4 {
					t.Skip("short")
				}
				g := newGroup(t, f, size, smallCfg())
				for _, n := range lengthsFor(size) {
					for _, op := range []allreduce.ReduceOp{allreduce.Sum, allreduce.Mean, allreduce.Max} {
						checkAllReduce(t, g, size, n, op)
					}
				}
			})
		}
	}
}

// Integer-valued inputs have exact float32 sums in any order, so the result
// must equal the reference exactly on both algorithms.
func TestAllReduceExactOnIntegers(t *testing.T) {
	for _, f := range fabrics {
		for _, size := range []int{2, 3, 5, 8} {
			for _, n := range []int{7, 3000, 100_001} { // recursive doubling and ring
				t.Run(fmt.Sprintf("%s/world%d/n%d", f.name, size, n), func(t *testing.T) {
					g := newGroup(t, f, size, smallCfg())
					bufs := make([][]float32, size)
					for r := range bufs {
						bufs[r] = make([]float32, n)
						for i := range n {
							bufs[r][i] = float32((r + 1) * (i%13 + 1))
						}
					}
					mustAll(t, g.run(func(r int, c *allreduce.Comm) error {
						return c.AllReduce(context.Background(), bufs[r], allreduce.Sum)
					}))
					for r := range bufs {
						for i := range n {
							if want := float32(size * (size + 1) / 2 * (i%13 + 1)); bufs[r][i] != want {
								t.Fatalf("rank %d [%d] = %v, want %v", r, i, bufs[r][i], want)
							}
						}
					}
				})
			}
		}
	}
}

func TestReduceScatterAllGatherBroadcastBarrier(t *testing.T) {
	for _, f := range fabrics {
		for _, size := range []int{1, 2, 3, 4, 7} {
			t.Run(fmt.Sprintf("%s/world%d", f.name, size), func(t *testing.T) {
				g := newGroup(t, f, size, smallCfg())
				for _, n := range []int{0, 1, size + 1, 50_001} {
					in := randomInputs(size, n, uint64(n+size))
					want := reference(in, allreduce.Mean)
					bufs := make([][]float32, size)
					for r := range bufs {
						bufs[r] = append([]float32(nil), in[r]...)
					}
					// ReduceScatter then AllGather equals AllReduce.
					mustAll(t, g.run(func(r int, c *allreduce.Comm) error {
						lo, hi, err := c.ReduceScatter(context.Background(), bufs[r], allreduce.Mean)
						if err != nil {
							return err
						}
						if wl, wh := allreduce.ShardRange(n, size, r); lo != wl || hi != wh {
							return fmt.Errorf("shard [%d,%d), want [%d,%d)", lo, hi, wl, wh)
						}
						checkClose(t, bufs[r][lo:hi], want[lo:hi], size)
						return c.AllGather(context.Background(), bufs[r])
					}))
					for r := range bufs {
						checkClose(t, bufs[r], want, size)
						if i := testutil.FirstBitDiff(bufs[0], bufs[r]); i >= 0 {
							t.Fatalf("rank %d differs at %d", r, i)
						}
					}
					// Broadcast from every root.
					for root := range size {
						for r := range bufs {
							copy(bufs[r], in[r])
						}
						mustAll(t, g.run(func(r int, c *allreduce.Comm) error {
							return c.Broadcast(context.Background(), bufs[r], root)
						}))
						for r := range bufs {
							if i := testutil.FirstBitDiff(in[root], bufs[r]); i >= 0 {
								t.Fatalf("broadcast root %d: rank %d differs at %d", root, r, i)
							}
						}
					}
				}
				mustAll(t, g.run(func(r int, c *allreduce.Comm) error { return c.Barrier(context.Background()) }))
			})
		}
	}
}

func TestBarrierWaitsForEveryone(t *testing.T) {
	for _, f := range fabrics {
		t.Run(f.name, func(t *testing.T) {
			g := newGroup(t, f, 5, smallCfg())
			const late = 150 * time.Millisecond
			start := time.Now()
			done := make([]time.Duration, 5)
			mustAll(t, g.run(func(r int, c *allreduce.Comm) error {
				if r == 3 {
					time.Sleep(late)
				}
				err := c.Barrier(context.Background())
				done[r] = time.Since(start)
				return err
			}))
			for r, d := range done {
				if d < late {
					t.Fatalf("rank %d left the barrier after %v, before the late rank arrived", r, d)
				}
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	for _, f := range fabrics {
		for _, n := range []int{1000, 300_007} {
			t.Run(fmt.Sprintf("%s/n%d", f.name, n), func(t *testing.T) {
				const size = 5
				in := randomInputs(size, n, 99)
				var first [][]float32
				for run := 0; run < 2; run++ {
					g := newGroup(t, f, size, smallCfg())
					bufs := make([][]float32, size)
					for r := range bufs {
						bufs[r] = append([]float32(nil), in[r]...)
					}
					mustAll(t, g.run(func(r int, c *allreduce.Comm) error {
						return c.AllReduce(context.Background(), bufs[r], allreduce.Mean)
					}))
					if first == nil {
						first = bufs
						continue
					}
					for r := range bufs {
						if i := testutil.FirstBitDiff(first[r], bufs[r]); i >= 0 {
							t.Fatalf("run 2 rank %d differs from run 1 at %d", r, i)
						}
					}
				}
			})
		}
	}
}

// inFlight starts every rank looping large all-reduces until one fails, so
// that each is mid-call whenever a fault hits; it returns their results.
func inFlight(g *group) <-chan error {
	ch := make(chan error, len(g.comms))
	for r, c := range g.comms {
		go func() {
			buf := make([]float32, 1_000_000)
			var err error
			for i := 0; i < 10_000 && err == nil; i++ {
				err = c.AllReduce(context.Background(), buf, allreduce.Sum)
			}
			ch <- fmt.Errorf("rank %d: %w", r, err)
		}()
	}
	return ch
}

func collect(t *testing.T, ch <-chan error, count int, within time.Duration) []error {
	t.Helper()
	var errs []error
	deadline := time.After(within)
	for len(errs) < count {
		select {
		case err := <-ch:
			errs = append(errs, err)
		case <-deadline:
			t.Fatalf("only %d of %d in-flight calls returned within %v: %v", len(errs), count, within, errs)
		}
	}
	return errs
}

// Abort on any one rank mid-call: that rank's call returns ErrAborted, and
// every other rank's call fails within a second instead of hanging.
func TestAbortMidCallOnEveryRank(t *testing.T) { abortOneMidCall(t, smallCfg(), inFlight) }

// abortOneMidCall aborts each rank in turn while every rank is inside the
// calls start begins: the aborted rank's call returns ErrAborted, every
// other rank's fails within a second, and the aborted Comm stays broken.
func abortOneMidCall(t *testing.T, cfg allreduce.Config, start func(g *group) <-chan error) {
	for _, f := range fabrics {
		const size = 4
		for victim := range size {
			t.Run(fmt.Sprintf("%s/rank%d", f.name, victim), func(t *testing.T) {
				g := newGroup(t, f, size, cfg)
				ch := start(g)
				time.Sleep(50 * time.Millisecond)
				t0 := time.Now()
				g.comms[victim].Abort()
				errs := collect(t, ch, size, time.Second)
				t.Logf("all %d calls returned %v after Abort", size, time.Since(t0))
				prefix := fmt.Sprintf("rank %d: ", victim)
				for _, err := range errs {
					if strings.HasPrefix(err.Error(), prefix) && !errors.Is(err, allreduce.ErrAborted) {
						t.Errorf("aborted rank: want ErrAborted, got %v", err)
					}
				}
				// A broken Comm stays broken.
				if err := g.comms[victim].Barrier(context.Background()); !errors.Is(err, allreduce.ErrAborted) {
					t.Errorf("after abort: %v", err)
				}
			})
		}
	}
}

func TestAbortAllRanksMidCall(t *testing.T) { abortAllMidCall(t, inFlight) }

// abortAllMidCall aborts every rank of 5 while the collective start starts
// is in flight: every rank fails aborted or with a peer lost, at once.
func abortAllMidCall(t *testing.T, start func(g *group) <-chan error) {
	for _, f := range fabrics {
		t.Run(f.name, func(t *testing.T) {
			const size = 5
			g := newGroup(t, f, size, smallCfg())
			ch := start(g)
			time.Sleep(50 * time.Millisecond)
			for _, c := range g.comms {
				c.Abort()
			}
			for _, err := range collect(t, ch, size, time.Second) {
				if !errors.Is(err, allreduce.ErrAborted) && !errors.Is(err, allreduce.ErrPeerLost) {
					t.Errorf("want ErrAborted or ErrPeerLost, got %v", err)
				}
			}
		})
	}
}

func TestKilledRankMakesOthersFailFast(t *testing.T) {
	killedRankFailsFast(t, smallCfg(), inFlight, 2, 4, 7)
}

// killedRankFailsFast kills one rank while every rank is inside the calls
// start begins: every call returns within a second.
func killedRankFailsFast(t *testing.T, cfg allreduce.Config, start func(g *group) <-chan error, sizes ...int) {
	for _, f := range fabrics {
		for _, size := range sizes {
			t.Run(fmt.Sprintf("%s/world%d", f.name, size), func(t *testing.T) {
				g := newGroup(t, f, size, cfg)
				ch := start(g)
				time.Sleep(100 * time.Millisecond)
				t0 := time.Now()
				g.kill(size / 2)
				collect(t, ch, size, time.Second)
				t.Logf("every rank failed %v after the kill", time.Since(t0))
			})
		}
	}
}

func TestContextCancelMidCall(t *testing.T) {
	cancelMidCall(t, func(ctx context.Context, c *allreduce.Comm) error {
		return c.AllReduce(ctx, make([]float32, 100_000), allreduce.Sum)
	})
}

// cancelMidCall cancels rank 0's context 30 ms into the collective call
// makes (the other ranks never call): it returns context.Canceled at once.
func cancelMidCall(t *testing.T, call func(context.Context, *allreduce.Comm) error) {
	for _, f := range fabrics {
		t.Run(f.name, func(t *testing.T) {
			g := newGroup(t, f, 3, smallCfg())
			ctx, cancel := context.WithCancel(context.Background())
			res := make(chan error, 1)
			go func() { res <- call(ctx, g.comms[0]) }()
			time.Sleep(30 * time.Millisecond)
			cancel()
			select {
			case err := <-res:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("want context.Canceled, got %v", err)
				}
			case <-time.After(time.Second):
				t.Fatal("cancelled call did not return")
			}
		})
	}
}

// checkAllReduce runs one AllReduce of n random values per rank on g and
// checks every rank against the float64 reference and bitwise against rank 0.
func checkAllReduce(t *testing.T, g *group, size, n int, op allreduce.ReduceOp) {
	t.Helper()
	in := randomInputs(size, n, uint64(n*10+size))
	want := reference(in, op)
	bufs := make([][]float32, size)
	for r := range bufs {
		bufs[r] = append([]float32(nil), in[r]...)
	}
	mustAll(t, g.run(func(r int, c *allreduce.Comm) error {
		return c.AllReduce(context.Background(), bufs[r], op)
	}))
	for r := range bufs {
		checkClose(t, bufs[r], want, size)
		if i := testutil.FirstBitDiff(bufs[0], bufs[r]); i >= 0 {
			t.Fatalf("n=%d %v: rank %d differs from rank 0 at %d", n, op, r, i)
		}
	}
}
