package allreduce

import (
	"fmt"
	"slices"
	"testing"
)

func TestShardRangePartitions(t *testing.T) {
	for _, n := range []int{0, 1, 2, 5, 7, 100, 1001} {
		for parts := 1; parts <= 9; parts++ {
			next := 0
			for i := range parts {
				lo, hi := ShardRange(n, parts, i)
				if lo != next || hi < lo || hi-lo > n/parts+1 || hi-lo < n/parts {
					t.Fatalf("n=%d parts=%d i=%d: [%d,%d) after %d", n, parts, i, lo, hi, next)
				}
				next = hi
			}
			if next != n {
				t.Fatalf("n=%d parts=%d: covers %d", n, parts, next)
			}
		}
	}
}

func TestPeersSymmetric(t *testing.T) {
	for size := 1; size <= 33; size++ {
		for r := range size {
			for _, p := range Peers(r, size) {
				if p == r || !slices.Contains(Peers(p, size), r) {
					t.Fatalf("size %d: %d lists %d but not vice versa", size, r, p)
				}
			}
		}
	}
}

// simulate runs every rank's steps over in-memory message queues (the dumb
// executor: whole ranges, no segments, one step at a time: send, then wait
// for the receive) and returns the buffers and the elements each rank sent.
func simulate(t *testing.T, size, n int, sched func(rank int) []Step, in [][]float32) ([][]float32, []int) {
	t.Helper()
	bufs := make([][]float32, size)
	steps := make([][]Step, size)
	for r := range bufs {
		bufs[r] = slices.Clone(in[r])
		steps[r] = sched(r)
	}
	type key struct{ from, to, wire int }
	msgs := map[key][]float32{}
	sent := make([]int, size)
	pos := make([]int, size)      // next step per rank
	didSend := make([]bool, size) // the step at pos has sent
	for progress := true; progress; {
		progress = false
		for r := range size {
			for pos[r] < len(steps[r]) {
				st := steps[r][pos[r]]
				if st.To >= 0 && !didSend[r] {
					k := key{r, st.To, st.SendWire}
					if _, dup := msgs[k]; dup {
						t.Fatalf("rank %d sends a second message %+v before the first was received", r, k)
					}
					msgs[k] = slices.Clone(bufs[r][st.SendLo:st.SendHi])
					sent[r] += st.SendHi - st.SendLo
					didSend[r], progress = true, true
				}
				if st.From >= 0 {
					k := key{st.From, r, st.RecvWire}
					m, ok := msgs[k]
					if !ok {
						break // blocked
					}
					delete(msgs, k)
					if len(m) != st.RecvHi-st.RecvLo {
						t.Fatalf("rank %d receives %d values into a range of %d", r, len(m), st.RecvHi-st.RecvLo)
					}
					if st.Reduce {
						for i, v := range m {
							bufs[r][st.RecvLo+i] += v
						}
					} else {
						copy(bufs[r][st.RecvLo:], m)
					}
				}
				pos[r]++
				didSend[r], progress = false, true
			}
		}
	}
	for r := range size {
		if pos[r] != len(steps[r]) {
			t.Fatalf("deadlock: rank %d stuck at step %d of %d", r, pos[r], len(steps[r]))
		}
	}
	if len(msgs) != 0 {
		t.Fatalf("%d messages never received", len(msgs))
	}
	return bufs, sent
}

func ramp(size, n int) [][]float32 {
	in := make([][]float32, size)
	for r := range in {
		in[r] = make([]float32, n)
		for i := range in[r] {
			in[r][i] = float32((r + 1) * (i%7 + 1))
		}
	}
	return in
}

func TestRingAllReduceScheduleIsCorrectAndBandwidthOptimal(t *testing.T) {
	for size := 2; size <= 9; size++ {
		for _, n := range []int{1, size - 1, size, size + 1, 10 * size, 1000} {
			t.Run(fmt.Sprintf("world%d/n%d", size, n), func(t *testing.T) {
				checkBandwidthOptimal(t, size, n, func(r int) []Step { return RingAllReduce(r, size, n) })
			})
		}
	}
}

// checkBandwidthOptimal runs an all-reduce schedule through the dumb
// executor: every rank ends with the exact sums and sent 2(N-1)/N of the
// buffer, rounded by the uneven chunks.
func checkBandwidthOptimal(t *testing.T, size, n int, sched func(rank int) []Step) {
	t.Helper()
	out, sent := simulate(t, size, n, sched, ramp(size, n))
	for r := range size {
		for i := range n {
			if want := float32(size * (size + 1) / 2 * (i%7 + 1)); out[r][i] != want {
				t.Fatalf("rank %d [%d] = %v, want %v", r, i, out[r][i], want)
			}
		}
		if lo, hi := 2*(size-1)*(n/size), 2*(size-1)*((n+size-1)/size); sent[r] < lo || sent[r] > hi {
			t.Fatalf("rank %d sent %d values, want within [%d, %d]", r, sent[r], lo, hi)
		}
	}
}

func TestRingReduceScatterLeavesOwnShardReduced(t *testing.T) {
	for size := 2; size <= 8; size++ {
		n := 3*size + 2
		in := ramp(size, n)
		out, _ := simulate(t, size, n, func(r int) []Step { return RingReduceScatter(r, size, n) }, in)
		for r := range size {
			lo, hi := ShardRange(n, size, r)
			for i := lo; i < hi; i++ {
				if want := float32(size * (size + 1) / 2 * (i%7 + 1)); out[r][i] != want {
					t.Fatalf("world %d rank %d [%d] = %v, want %v", size, r, i, out[r][i], want)
				}
			}
		}
	}
}

func TestRingAllGatherAndChainBroadcast(t *testing.T) {
	for size := 2; size <= 8; size++ {
		n := 2*size + 1
		in := make([][]float32, size)
		for r := range in {
			in[r] = make([]float32, n)
			lo, hi := ShardRange(n, size, r)
			for i := lo; i < hi; i++ {
				in[r][i] = float32(i + 1)
			}
		}
		out, _ := simulate(t, size, n, func(r int) []Step { return RingAllGather(r, size, n) }, in)
		for r := range size {
			for i := range n {
				if out[r][i] != float32(i+1) {
					t.Fatalf("all-gather world %d rank %d [%d] = %v", size, r, i, out[r][i])
				}
			}
		}
		for root := range size {
			out, sent := simulate(t, size, n, func(r int) []Step { return ChainBroadcast(r, size, root, n) }, ramp(size, n))
			for r := range size {
				if !slices.Equal(out[r], ramp(size, n)[root]) {
					t.Fatalf("broadcast world %d root %d: rank %d = %v", size, root, r, out[r])
				}
				if last := (root - 1 + size) % size; (r == last) != (sent[r] == 0) {
					t.Fatalf("broadcast world %d root %d: rank %d sent %d", size, root, r, sent[r])
				}
			}
		}
	}
}

func TestRDPlanPairsUp(t *testing.T) {
	for size := 1; size <= 20; size++ {
		plans := make([]rdPlan, size)
		for r := range size {
			plans[r] = newRDPlan(r, size)
		}
		for r, p := range plans {
			if p.foldPeer >= 0 && plans[p.foldPeer].foldPeer != r {
				t.Fatalf("size %d: fold %d->%d not mutual", size, r, p.foldPeer)
			}
			for k, q := range p.partners {
				if plans[q].partners[k] != r {
					t.Fatalf("size %d step %d: %d pairs with %d, which pairs with %d", size, k, r, q, plans[q].partners[k])
				}
			}
			if !p.folded && len(p.partners) != p.rounds {
				t.Fatalf("size %d rank %d: %d partners for %d rounds", size, r, len(p.partners), p.rounds)
			}
		}
	}
}

func TestReduceKernelsMatchReference(t *testing.T) {
	for _, n := range []int{0, 1, 3, 4, 5, 7, 8, 9, 17, 31, 32, 33, 1000, 1003} {
		dst := make([]float32, n)
		src := make([]float32, n)
		for i := range n {
			dst[i], src[i] = float32(i)*1.25-3, float32(n-i)*0.75
		}
		sum := slices.Clone(dst)
		addInto(sum, src)
		gen := slices.Clone(dst)
		addGeneric(gen, src)
		if !slices.Equal(sum, gen) {
			t.Fatalf("n=%d: fast kernel differs from the generic one", n)
		}
		mx := slices.Clone(dst)
		maxInto(mx, src)
		for i := range n {
			if sum[i] != dst[i]+src[i] || mx[i] != max(dst[i], src[i]) {
				t.Fatalf("n=%d [%d]: sum %v max %v", n, i, sum[i], mx[i])
			}
		}
	}
}

func BenchmarkAdd(b *testing.B) {
	dst, src := make([]float32, 256<<10), make([]float32, 256<<10)
	for _, k := range []struct {
		name string
		f    func(a, b []float32)
	}{{"generic", addGeneric}, {"dispatch", addInto}} {
		b.Run(k.name, func(b *testing.B) {
			b.SetBytes(int64(len(dst) * 4))
			for range b.N {
				k.f(dst, src)
			}
		})
	}
}
