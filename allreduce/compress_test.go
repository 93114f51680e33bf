package allreduce_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/internal/testutil"
)

func compressedCfg(c allreduce.Compression) allreduce.Config {
	cfg := smallCfg()
	cfg.Compress = c
	return cfg
}

var halfFormats = []allreduce.Compression{allreduce.CompressBF16, allreduce.CompressFP16}

// ringReference is the dumb model of the compressed ring reduce-scatter: the
// chunk owned by o is summed in the ring's order o+1, o+2, ..., o; every
// partial sum is rounded to the wire format when it is sent, and the owner
// adds its own float32 value last. It gives the exact bits each owner must
// hold.
func ringReference(in [][]float32, c allreduce.Compression, op allreduce.ReduceOp) []float32 {
	size, n := len(in), len(in[0])
	out := make([]float32, n)
	for o := range size {
		lo, hi := allreduce.ShardRange(n, size, o)
		for i := lo; i < hi; i++ {
			acc := in[(o+1)%size][i]
			for k := 2; k <= size; k++ {
				acc = c.Round(acc) + in[(o+k)%size][i]
			}
			if op == allreduce.Mean {
				acc /= float32(size)
			}
			out[i] = acc
		}
	}
	return out
}

// unitRoundoff is half the format's ulp at 1.
func unitRoundoff(c allreduce.Compression) float64 {
	if c == allreduce.CompressBF16 {
		return math.Ldexp(1, -8)
	}
	return math.Ldexp(1, -11)
}

// Each owner's shard is bitwise the ring model's, and within the rounding
// bound of the float64 sum: N-1 roundings of partial sums, each off by at
// most u·|partial| <= u·Σ|x|.
func TestCompressedReduceScatterMatchesReference(t *testing.T) {
	for _, f := range fabrics {
		for _, c := range halfFormats {
			for _, size := range []int{2, 3, 4, 7} {
				t.Run(fmt.Sprintf("%s/%v/world%d", f.name, c, size), func(t *testing.T) {
					g := newGroup(t, f, size, compressedCfg(c))
					for _, n := range []int{1, size + 1, 50_001} {
						for _, op := range []allreduce.ReduceOp{allreduce.Sum, allreduce.Mean} {
							in := randomInputs(size, n, uint64(n*3+size))
							model := ringReference(in, c, op)
							exact := reference(in, op)
							bufs := clones(in)
							mustAll(t, g.run(func(r int, cm *allreduce.Comm) error {
								_, _, err := cm.ReduceScatter(context.Background(), bufs[r], op)
								return err
							}))
							for r := range size {
								lo, hi := allreduce.ShardRange(n, size, r)
								if i := testutil.FirstBitDiff(bufs[r][lo:hi], model[lo:hi]); i >= 0 {
									t.Fatalf("n=%d %v: rank %d [%d] = %v, ring model %v", n, op, r, lo+i, bufs[r][lo+i], model[lo+i])
								}
								for i := lo; i < hi; i++ {
									abs := 0.0
									for q := range size {
										abs += math.Abs(float64(in[q][i]))
									}
									if op == allreduce.Mean {
										abs /= float64(size)
									}
									tol := (float64(size-1)*unitRoundoff(c) + 1e-6) * abs * 1.01
									if d := math.Abs(float64(bufs[r][i]) - exact[i]); d > tol {
										t.Fatalf("n=%d %v: [%d] = %v, float64 sum %v: off by %g > bound %g", n, op, i, bufs[r][i], exact[i], d, tol)
									}
								}
							}
						}
					}
				})
			}
		}
	}
}

// Compression must actually lose bits (else the tests above prove nothing):
// the compressed result differs from the float32 one on random data.
func TestCompressedReduceScatterDiffersFromFloat32(t *testing.T) {
	const size, n = 3, 10_000
	in := randomInputs(size, n, 5)
	plain := clones(in)
	mustAll(t, newGroup(t, memFabric, size, smallCfg()).run(func(r int, c *allreduce.Comm) error {
		_, _, err := c.ReduceScatter(context.Background(), plain[r], allreduce.Sum)
		return err
	}))
	for _, hf := range halfFormats {
		half := clones(in)
		mustAll(t, newGroup(t, memFabric, size, compressedCfg(hf)).run(func(r int, c *allreduce.Comm) error {
			_, _, err := c.ReduceScatter(context.Background(), half[r], allreduce.Sum)
			return err
		}))
		lo, hi := allreduce.ShardRange(n, size, 0)
		if testutil.FirstBitDiff(half[0][lo:hi], plain[0][lo:hi]) < 0 {
			t.Errorf("%v: reduce-scatter bitwise equal to float32's", hf)
		}
	}
}

// Determinism at a fixed world size: repeated runs, whole-buffer or
// bucketed, leave every shard with the same bits; the all-gather after it
// is exact, so every rank ends with the same full buffer.
func TestCompressedDeterministicAndBucketed(t *testing.T) {
	for _, f := range fabrics {
		for _, c := range halfFormats {
			t.Run(fmt.Sprintf("%s/%v", f.name, c), func(t *testing.T) {
				const size, n = 4, 50_001
				g := newGroup(t, f, size, compressedCfg(c))
				ctx := context.Background()
				in := randomInputs(size, n, 9)
				want := clones(in)
				mustAll(t, g.run(func(r int, cm *allreduce.Comm) error {
					if _, _, err := cm.ReduceScatter(ctx, want[r], allreduce.Mean); err != nil {
						return err
					}
					return cm.AllGather(ctx, want[r])
				}))
				for _, buckets := range []int{1, 1, 3, 7} {
					bufs := clones(in)
					mustAll(t, g.run(func(r int, cm *allreduce.Comm) error {
						return bucketed(ctx, cm, bufs[r], buckets, allreduce.Mean)
					}))
					for r := range size {
						if i := testutil.FirstBitDiff(bufs[r], want[r]); i >= 0 {
							t.Fatalf("%d buckets: rank %d [%d] = %v, want %v", buckets, r, i, bufs[r][i], want[r][i])
						}
					}
				}
			})
		}
	}
}

// Only the reduce-scatters are compressed: AllGather, AllReduce and
// Broadcast on a compressing Comm give the same bits as on a float32 one.
func TestCompressionLeavesOtherCollectivesExact(t *testing.T) {
	for _, f := range fabrics {
		for _, c := range halfFormats {
			t.Run(fmt.Sprintf("%s/%v", f.name, c), func(t *testing.T) {
				const size, n = 3, 50_001
				ctx := context.Background()
				in := randomInputs(size, n, 11)
				results := make([][][]float32, 2)
				for k, cfg := range []allreduce.Config{smallCfg(), compressedCfg(c)} {
					g := newGroup(t, f, size, cfg)
					ag, ar, bc := clones(in), clones(in), clones(in)
					mustAll(t, g.run(func(r int, cm *allreduce.Comm) error {
						if err := cm.AllGather(ctx, ag[r]); err != nil {
							return err
						}
						if err := cm.AllReduce(ctx, ar[r], allreduce.Mean); err != nil {
							return err
						}
						return cm.Broadcast(ctx, bc[r], 1)
					}))
					results[k] = append(append(ag, ar...), bc...)
				}
				for i := range results[0] {
					if j := testutil.FirstBitDiff(results[1][i], results[0][i]); j >= 0 {
						t.Fatalf("buffer %d [%d]: compressing Comm gave %v, float32 Comm %v", i, j, results[1][i][j], results[0][i][j])
					}
				}
				// AllGather is a copy: every rank holds every rank's own shard exactly.
				for r := range size {
					for q := range size {
						lo, hi := allreduce.ShardRange(n, size, q)
						if j := testutil.FirstBitDiff(results[1][r][lo:hi], in[q][lo:hi]); j >= 0 {
							t.Fatalf("rank %d: shard %d [%d] not copied exactly", r, q, lo+j)
						}
					}
				}
			})
		}
	}
}

func TestCompressedAbortAndKillFailFast(t *testing.T) {
	cfg := compressedCfg(allreduce.CompressBF16)
	t.Run("abort", func(t *testing.T) { abortOneMidCall(t, cfg, inFlightBucketed) })
	t.Run("kill", func(t *testing.T) { killedRankFailsFast(t, cfg, inFlightBucketed, 2, 4) })
}

func TestConfigRejectsUnknownCompression(t *testing.T) {
	cfg := allreduce.DefaultConfig()
	cfg.Compress = allreduce.Compression(7)
	if err := cfg.Validate(); err == nil {
		t.Fatal("Compress 7 accepted")
	}
}
