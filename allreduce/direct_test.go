package allreduce_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/internal/testutil"
)

// directCfg: buffers above 8 KiB and up to 256 KiB run the direct
// all-reduce on 3 and 4 ranks; frames of 16 KiB, so that most lengths take
// several segments per chunk.
func directCfg() allreduce.Config {
	c := smallCfg()
	c.DirectBytes = 256 << 10
	c.NoShared = true // the schedule, not shared memory's all-reduce
	return c
}

// The direct all-reduce matches the reference on every fabric, ends bitwise
// the same on every rank, and repeats bitwise; the tracer shows it ran.
// 1_000_000 floats with DirectBytes at its maximum sends 6 MB per rank: the
// pipelined path rather than the sequential one.
func TestDirectAllReduceMatchesReference(t *testing.T) {
	big := directCfg()
	big.DirectBytes = 64 << 20
	algorithmMatchesReference(t, allreduce.OpAllReduceDirect, []int{3, 4}, directCfg(), big)
}

// algorithmMatchesReference runs all-reduces of lengths that cfg sends
// through the algorithm want (and 1_000_000 floats with big) on every
// fabric and world size: every op matches the reference, every rank ends
// bitwise the same, a repeat gives the same bits, and want is all that ran.
func algorithmMatchesReference(t *testing.T, want allreduce.Op, sizes []int, cfg, big allreduce.Config) {
	algorithmMatchesReferenceOn(t, fabrics, want, sizes, cfg, big)
}

// algorithmMatchesReferenceOn is algorithmMatchesReference on the given
// fabrics.
func algorithmMatchesReferenceOn(t *testing.T, fabrics []fabric, want allreduce.Op, sizes []int, cfg, big allreduce.Config) {
	for _, f := range fabrics {
		for _, size := range sizes {
			for _, tc := range []struct {
				cfg allreduce.Config
				n   int
			}{{cfg, 2049}, {cfg, 20_000}, {cfg, 65_536}, {big, 1_000_000}} {
				t.Run(fmt.Sprintf("%s/world%d/n%d", f.name, size, tc.n), func(t *testing.T) {
					if testing.Short() && size > 4 {
						t.Skip("short")
					}
					g := newGroup(t, f, size, tc.cfg)
					ops := traceOps(g)
					for _, op := range []allreduce.ReduceOp{allreduce.Sum, allreduce.Mean, allreduce.Max} {
						checkAllReduce(t, g, size, tc.n, op)
					}
					if !ops[want] || len(ops) != 1 {
						t.Fatalf("ran %v, want only %v", ops, want)
					}
					in := randomInputs(size, tc.n, 5)
					var first [][]float32
					for range 2 {
						bufs := make([][]float32, size)
						for r := range bufs {
							bufs[r] = append([]float32(nil), in[r]...)
						}
						mustAll(t, g.run(func(r int, c *allreduce.Comm) error {
							return c.AllReduce(context.Background(), bufs[r], allreduce.Sum)
						}))
						if first != nil {
							for r := range bufs {
								if i := testutil.FirstBitDiff(first[r], bufs[r]); i >= 0 {
									t.Fatalf("rank %d: second run differs at %d", r, i)
								}
							}
						}
						first = bufs
					}
				})
			}
		}
	}
}

// Outside 3 and 4 ranks, or above DirectBytes, AllReduce keeps the ring.
func TestDirectAllReduceOnlyWhereItApplies(t *testing.T) {
	for _, tc := range []struct{ size, n int }{{2, 20_000}, {5, 20_000}, {4, 70_000}} {
		t.Run(fmt.Sprintf("world%d/n%d", tc.size, tc.n), func(t *testing.T) {
			g := newGroup(t, memFabric, tc.size, directCfg())
			ops := traceOps(g)
			checkAllReduce(t, g, tc.size, tc.n, allreduce.Sum)
			if !ops[allreduce.OpAllReduceRing] || len(ops) != 1 {
				t.Fatalf("ran %v, want only %v", ops, allreduce.OpAllReduceRing)
			}
		})
	}
}

// traceOps records which collectives g's ranks run (their tracers); read
// it only once the calls have returned.
func traceOps(g *group) map[allreduce.Op]bool {
	var mu sync.Mutex
	ops := map[allreduce.Op]bool{}
	for _, c := range g.comms {
		c.SetTracer(func(op allreduce.Op, _ int, _, _ time.Time) { mu.Lock(); ops[op] = true; mu.Unlock() })
	}
	return ops
}

// inFlightDirect loops all-reduces of 50_000 floats (direct or halving,
// by the config) on every rank until one fails.
func inFlightDirect(g *group) <-chan error {
	ch := make(chan error, len(g.comms))
	for r, c := range g.comms {
		go func() {
			buf := make([]float32, 50_000)
			var err error
			for i := 0; i < 1_000_000 && err == nil; i++ {
				err = c.AllReduce(context.Background(), buf, allreduce.Sum)
			}
			ch <- fmt.Errorf("rank %d: %w", r, err)
		}()
	}
	return ch
}

func TestDirectAbortMidCallOnEveryRank(t *testing.T) { abortOneMidCall(t, directCfg(), inFlightDirect) }

func TestDirectKilledRankMakesOthersFailFast(t *testing.T) {
	killedRankFailsFast(t, directCfg(), inFlightDirect, 3, 4)
}
