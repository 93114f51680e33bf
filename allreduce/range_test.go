package allreduce_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/internal/testutil"
)

// testRanges returns sub-ranges of an n-element buffer split size ways:
// empty, single elements, each shard, ranges crossing shard boundaries,
// the whole buffer and a few random ones.
func testRanges(n, size int, rng *rand.Rand) [][2]int {
	rs := [][2]int{{0, 0}, {n, n}, {0, n}}
	if n > 0 {
		rs = append(rs, [2]int{0, 1}, [2]int{n - 1, n}, [2]int{n / 2, n/2 + 1})
	}
	for o := range size {
		a, b := allreduce.ShardRange(n, size, o)
		rs = append(rs, [2]int{a, b})
		if a > 0 && b < n {
			rs = append(rs, [2]int{a - 1, b + 1}, [2]int{a - 1, a + 1})
		}
	}
	for range 4 {
		lo := rng.IntN(n + 1)
		rs = append(rs, [2]int{lo, lo + rng.IntN(n-lo+1)})
	}
	return rs
}

// clones copies every rank's input.
func clones(in [][]float32) [][]float32 {
	out := make([][]float32, len(in))
	for r := range in {
		out[r] = slices.Clone(in[r])
	}
	return out
}

// ReduceScatterRange leaves every rank's part of [lo, hi) bitwise equal to
// what ReduceScatter leaves there and AllGatherRange then fills [lo, hi)
// with what AllGather gives; nothing outside [lo, hi) changes.
func TestRangeCollectivesBitwiseEqualWholeBuffer(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for size := 1; size <= 5; size++ {
		t.Run(fmt.Sprintf("world%d", size), func(t *testing.T) {
			g := newGroup(t, memFabric, size, smallCfg())
			ctx := context.Background()
			for _, n := range []int{0, 1, size + 1, 50_001} {
				for _, op := range []allreduce.ReduceOp{allreduce.Sum, allreduce.Mean} {
					in := randomInputs(size, n, uint64(1000*n+size))
					scattered := clones(in)
					mustAll(t, g.run(func(r int, c *allreduce.Comm) error {
						_, _, err := c.ReduceScatter(ctx, scattered[r], op)
						return err
					}))
					gathered := clones(scattered)
					mustAll(t, g.run(func(r int, c *allreduce.Comm) error { return c.AllGather(ctx, gathered[r]) }))
					for _, rg := range testRanges(n, size, rng) {
						lo, hi := rg[0], rg[1]
						bufs := clones(in)
						mustAll(t, g.run(func(r int, c *allreduce.Comm) error {
							return c.ReduceScatterRange(ctx, bufs[r], lo, hi, op)
						}))
						for r := range size {
							a, b := allreduce.ShardRange(n, size, r)
							a, b = max(a, lo), min(b, hi)
							if a < b {
								if i := testutil.FirstBitDiff(bufs[r][a:b], scattered[r][a:b]); i >= 0 {
									t.Fatalf("n=%d %v [%d,%d): rank %d [%d] = %v, ReduceScatter %v", n, op, lo, hi, r, a+i, bufs[r][a+i], scattered[r][a+i])
								}
							}
							checkOutsideUntouched(t, bufs[r], in[r], lo, hi)
						}
						mustAll(t, g.run(func(r int, c *allreduce.Comm) error { return c.AllGatherRange(ctx, bufs[r], lo, hi) }))
						for r := range size {
							if i := testutil.FirstBitDiff(bufs[r][lo:hi], gathered[r][lo:hi]); i >= 0 {
								t.Fatalf("n=%d %v [%d,%d): after AllGatherRange rank %d [%d] = %v, AllGather %v", n, op, lo, hi, r, lo+i, bufs[r][lo+i], gathered[r][lo+i])
							}
							checkOutsideUntouched(t, bufs[r], in[r], lo, hi)
						}
					}
				}
			}
		})
	}
}

func checkOutsideUntouched(t *testing.T, got, in []float32, lo, hi int) {
	t.Helper()
	if i := testutil.FirstBitDiff(got[:lo], in[:lo]); i >= 0 {
		t.Fatalf("[%d] below the range [%d,%d) changed", i, lo, hi)
	}
	if i := testutil.FirstBitDiff(got[hi:], in[hi:]); i >= 0 {
		t.Fatalf("[%d] above the range [%d,%d) changed", hi+i, lo, hi)
	}
}

// bucketed runs one bucketed step on a rank: ReduceScatterRange over the
// buckets from the end of buf toward the start, then AllGatherRange over
// them from the start.
func bucketed(ctx context.Context, c *allreduce.Comm, buf []float32, buckets int, op allreduce.ReduceOp) error {
	for k := buckets - 1; k >= 0; k-- {
		lo, hi := allreduce.ShardRange(len(buf), buckets, k)
		if err := c.ReduceScatterRange(ctx, buf, lo, hi, op); err != nil {
			return err
		}
	}
	for k := range buckets {
		lo, hi := allreduce.ShardRange(len(buf), buckets, k)
		if err := c.AllGatherRange(ctx, buf, lo, hi); err != nil {
			return err
		}
	}
	return nil
}

// Conformance: a bucketed step over every transport gives the bits of
// ReduceScatter then AllGather of the whole buffer.
func TestBucketedMatchesReduceScatterAllGather(t *testing.T) {
	for _, f := range fabrics {
		for _, size := range []int{1, 2, 3, 4} {
			t.Run(fmt.Sprintf("%s/world%d", f.name, size), func(t *testing.T) {
				g := newGroup(t, f, size, smallCfg())
				ctx := context.Background()
				for _, n := range []int{1, size + 1, 50_001} {
					for _, op := range []allreduce.ReduceOp{allreduce.Sum, allreduce.Mean, allreduce.Max} {
						in := randomInputs(size, n, uint64(n+size))
						want := clones(in)
						mustAll(t, g.run(func(r int, c *allreduce.Comm) error {
							if _, _, err := c.ReduceScatter(ctx, want[r], op); err != nil {
								return err
							}
							return c.AllGather(ctx, want[r])
						}))
						for _, buckets := range []int{1, 3, 7} {
							bufs := clones(in)
							mustAll(t, g.run(func(r int, c *allreduce.Comm) error { return bucketed(ctx, c, bufs[r], buckets, op) }))
							for r := range size {
								if i := testutil.FirstBitDiff(bufs[r], want[r]); i >= 0 {
									t.Fatalf("n=%d %v %d buckets: rank %d [%d] = %v, want %v", n, op, buckets, r, i, bufs[r][i], want[r][i])
								}
							}
						}
					}
				}
			})
		}
	}
}

func TestRangeCollectivesRejectBadRanges(t *testing.T) {
	g := newGroup(t, memFabric, 2, smallCfg())
	ctx := context.Background()
	buf := make([]float32, 10)
	for _, rg := range [][2]int{{-1, 3}, {4, 3}, {0, 11}, {11, 11}, {-2, -1}} {
		for r, c := range g.comms {
			if err := c.ReduceScatterRange(ctx, buf, rg[0], rg[1], allreduce.Sum); err == nil {
				t.Errorf("rank %d: ReduceScatterRange [%d,%d) of 10: no error", r, rg[0], rg[1])
			}
			if err := c.AllGatherRange(ctx, buf, rg[0], rg[1]); err == nil {
				t.Errorf("rank %d: AllGatherRange [%d,%d) of 10: no error", r, rg[0], rg[1])
			}
		}
	}
	if err := g.comms[0].ReduceScatterRange(ctx, buf, 0, 10, allreduce.ReduceOp(9)); err == nil {
		t.Error("unknown reduce op: no error")
	}
	// A refused call breaks nothing.
	mustAll(t, g.run(func(r int, c *allreduce.Comm) error { return bucketed(ctx, c, make([]float32, 10), 3, allreduce.Sum) }))
}

// inFlightBucketed starts every rank looping bucketed steps on a large
// buffer until one fails.
func inFlightBucketed(g *group) <-chan error {
	ch := make(chan error, len(g.comms))
	for r, c := range g.comms {
		go func() {
			buf := make([]float32, 1_000_000)
			var err error
			for i := 0; i < 10_000 && err == nil; i++ {
				err = bucketed(context.Background(), c, buf, 4, allreduce.Sum)
			}
			ch <- fmt.Errorf("rank %d: %w", r, err)
		}()
	}
	return ch
}

func TestRangeCollectivesAbortMidCall(t *testing.T) {
	abortOneMidCall(t, smallCfg(), inFlightBucketed)
}

func TestRangeCollectivesKilledRankFailFast(t *testing.T) {
	killedRankFailsFast(t, smallCfg(), inFlightBucketed, 2, 4)
}
