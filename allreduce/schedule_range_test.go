package allreduce

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ringtrain/ringtrain/internal/testutil"
)

// rangesFor returns sub-ranges of an n-element buffer split size ways: empty
// ones, single elements, each shard, pieces crossing shard boundaries, the
// whole buffer, and a few random ones.
func rangesFor(n, size int, rng *rand.Rand) [][2]int {
	rs := [][2]int{{0, 0}, {n, n}, {n / 2, n / 2}, {0, n}}
	if n > 0 {
		rs = append(rs, [2]int{0, 1}, [2]int{n - 1, n}, [2]int{n / 2, n/2 + 1})
	}
	for o := range size {
		a, b := ShardRange(n, size, o)
		rs = append(rs, [2]int{a, b})
		if a > 0 && b < n {
			rs = append(rs, [2]int{a - 1, b + 1}, [2]int{a - 1, a + 1}) // crossing both / one boundary
		}
		if b-a > 2 {
			rs = append(rs, [2]int{a + 1, b - 1}) // strictly inside
		}
	}
	for range 8 {
		lo := rng.IntN(n + 1)
		rs = append(rs, [2]int{lo, lo + rng.IntN(n-lo+1)})
	}
	return rs
}

func randomBufs(size, n int, rng *rand.Rand) [][]float32 {
	in := make([][]float32, size)
	for r := range in {
		in[r] = make([]float32, n)
		for i := range in[r] {
			in[r][i] = float32(rng.NormFloat64())
		}
	}
	return in
}

// The owner's piece after RangeReduceScatter has the bits RingReduceScatter
// gives it (same reduction order per element), nothing outside [lo, hi)
// changes, only ring neighbours talk, no step is empty, and each rank sends
// the range less its own piece once.
func TestRangeReduceScatterMatchesRing(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for size := 1; size <= 7; size++ {
		for _, n := range []int{0, 1, size - 1, size, size + 1, 3*size + 2, 100} {
			in := randomBufs(size, n, rng)
			ring := slices.Clone(in)
			if size > 1 {
				ring, _ = simulate(t, size, n, func(r int) []Step { return RingReduceScatter(r, size, n) }, in)
			}
			for _, rg := range rangesFor(n, size, rng) {
				lo, hi := rg[0], rg[1]
				t.Run(fmt.Sprintf("world%d/n%d/[%d,%d)", size, n, lo, hi), func(t *testing.T) {
					sched := func(r int) []Step { return RangeReduceScatter(r, size, n, lo, hi) }
					checkRangeSteps(t, size, lo, hi, sched)
					out, sent := simulate(t, size, n, sched, in)
					for r := range size {
						a, b := ShardRange(n, size, r)
						a, b = max(a, lo), min(b, hi)
						if a < b {
							if i := testutil.FirstBitDiff(out[r][a:b], ring[r][a:b]); i >= 0 {
								t.Fatalf("rank %d [%d]: %v, ring reduce-scatter %v", r, a+i, out[r][a+i], ring[r][a+i])
							}
						}
						if i := testutil.FirstBitDiff(out[r][:lo], in[r][:lo]); i >= 0 {
							t.Fatalf("rank %d [%d] below the range changed", r, i)
						}
						if i := testutil.FirstBitDiff(out[r][hi:], in[r][hi:]); i >= 0 {
							t.Fatalf("rank %d [%d] above the range changed", r, hi+i)
						}
						if want := hi - lo - max(b-a, 0); size > 1 && sent[r] != want {
							t.Fatalf("rank %d sent %d values, want %d", r, sent[r], want)
						}
					}
				})
			}
		}
	}
}

// Reducing every bucket of a partition, from the end of the buffer toward
// the start, leaves every shard as RingReduceScatter does.
func TestRangeReduceScatterBucketsMatchRing(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for size := 2; size <= 6; size++ {
		const n = 97
		in := randomBufs(size, n, rng)
		ring, _ := simulate(t, size, n, func(r int) []Step { return RingReduceScatter(r, size, n) }, in)
		for _, buckets := range []int{1, 2, 3, 5, 13} {
			bufs := in
			for k := buckets - 1; k >= 0; k-- {
				lo, hi := ShardRange(n, buckets, k)
				bufs, _ = simulate(t, size, n, func(r int) []Step { return RangeReduceScatter(r, size, n, lo, hi) }, bufs)
			}
			for r := range size {
				a, b := ShardRange(n, size, r)
				if i := testutil.FirstBitDiff(bufs[r][a:b], ring[r][a:b]); i >= 0 {
					t.Fatalf("world %d, %d buckets: rank %d [%d] differs from the ring", size, buckets, r, a+i)
				}
			}
		}
	}
}

func TestRangeAllGather(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for size := 1; size <= 7; size++ {
		for _, n := range []int{0, 1, size + 1, 3*size + 2, 100} {
			for _, rg := range rangesFor(n, size, rng) {
				lo, hi := rg[0], rg[1]
				sched := func(r int) []Step { return RangeAllGather(r, size, n, lo, hi) }
				checkRangeSteps(t, size, lo, hi, sched)
				// Rank r holds its shard (i+1) and garbage (-r-1) elsewhere.
				in := make([][]float32, size)
				for r := range in {
					in[r] = make([]float32, n)
					a, b := ShardRange(n, size, r)
					for i := range n {
						in[r][i] = float32(-r - 1)
						if a <= i && i < b {
							in[r][i] = float32(i + 1)
						}
					}
				}
				out, sent := simulate(t, size, n, sched, in)
				for r := range size {
					for i := range n {
						want := in[r][i]
						if lo <= i && i < hi {
							want = float32(i + 1)
						}
						if out[r][i] != want {
							t.Fatalf("world %d n %d [%d,%d): rank %d [%d] = %v, want %v", size, n, lo, hi, r, i, out[r][i], want)
						}
					}
					// Each piece is sent by every rank but the last of its chain.
					a, b := ShardRange(n, size, (r+1)%size)
					if want := hi - lo - max(min(b, hi)-max(a, lo), 0); size > 1 && sent[r] != want {
						t.Fatalf("world %d n %d [%d,%d): rank %d sent %d, want %d", size, n, lo, hi, r, sent[r], want)
					}
				}
			}
		}
	}
}

// checkRangeSteps checks the structural rules of a range schedule on every
// rank: ring neighbours only, no empty step, ranges inside [lo, hi), a
// pipelined send forwards exactly the previous step's receive range, and
// step numbers never repeat on a link.
func checkRangeSteps(t *testing.T, size, lo, hi int, sched func(r int) []Step) {
	t.Helper()
	for r := range size {
		right, left := (r+1)%size, (r-1+size)%size
		sendWires, recvWires := map[int]bool{}, map[int]bool{}
		for k, st := range sched(r) {
			if st.To >= 0 {
				if st.To != right || st.SendLo < lo || st.SendHi > hi || st.SendLo >= st.SendHi || sendWires[st.SendWire] {
					t.Fatalf("rank %d step %d: bad send %+v", r, k, st)
				}
				sendWires[st.SendWire] = true
				if st.SendAfterRecv {
					if k == 0 || sched(r)[k-1].RecvLo != st.SendLo || sched(r)[k-1].RecvHi != st.SendHi {
						t.Fatalf("rank %d step %d: SendAfterRecv without a matching receive before", r, k)
					}
				}
			}
			if st.From >= 0 {
				if st.From != left || st.RecvLo < lo || st.RecvHi > hi || st.RecvLo >= st.RecvHi || recvWires[st.RecvWire] {
					t.Fatalf("rank %d step %d: bad receive %+v", r, k, st)
				}
				recvWires[st.RecvWire] = true
			}
			if st.To < 0 && st.From < 0 {
				t.Fatalf("rank %d step %d: does nothing", r, k)
			}
		}
	}
}
