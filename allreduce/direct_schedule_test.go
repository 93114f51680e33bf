package allreduce

import (
	"fmt"
	"testing"
)

func TestDirectAllReduceScheduleIsCorrectAndBandwidthOptimal(t *testing.T) {
	for size := 2; size <= 8; size++ {
		for _, n := range []int{1, size - 1, size, size + 1, 10 * size, 1000} {
			t.Run(fmt.Sprintf("world%d/n%d", size, n), func(t *testing.T) {
				in := ramp(size, n)
				out, sent := simulate(t, size, n, func(r int) []Step { return DirectAllReduce(r, size, n) }, in)
				for r := range size {
					for i := range n {
						if want := float32(size * (size + 1) / 2 * (i%7 + 1)); out[r][i] != want {
							t.Fatalf("rank %d [%d] = %v, want %v", r, i, out[r][i], want)
						}
					}
					// Round 0: every other rank's chunk; round 1: its own to
					// the N-1 others. 2(N-1)/N of the buffer, rounded as the
					// chunks are.
					lo, hi := ShardRange(n, size, r)
					if want := n - (hi - lo) + (size-1)*(hi-lo); sent[r] != want {
						t.Fatalf("rank %d sent %d values, want %d", r, sent[r], want)
					}
				}
			})
		}
	}
}

// Every rank's second round waits for its first round's receives, and the
// owner's chunk is reduced by the receives of the first round only.
func TestDirectAllReduceSteps(t *testing.T) {
	for size := 3; size <= 5; size++ {
		for r := range size {
			steps := DirectAllReduce(r, size, 100)
			if len(steps) != 4*(size-1) {
				t.Fatalf("world %d rank %d: %d steps, want %d", size, r, len(steps), 4*(size-1))
			}
			for k, st := range steps {
				round, recv := k/(2*(size-1)), (k/(size-1))%2 == 1
				if recv != (st.From >= 0) || recv == (st.To >= 0) {
					t.Fatalf("world %d rank %d step %d: %+v", size, r, k, st)
				}
				if st.SendWire != round || st.RecvWire != round || st.Reduce != (round == 0 && recv) ||
					st.SendAfterAll != (round == 1 && !recv) || st.Final != (k == 2*(size-1)-1) {
					t.Fatalf("world %d rank %d step %d (round %d): %+v", size, r, k, round, st)
				}
			}
		}
	}
}

func TestDirectOKOnlyWhereEveryPairIsLinked(t *testing.T) {
	for size := 1; size <= 33; size++ {
		want := size == 3 || size == 4 // Peers links every pair only there
		if got := DirectApplies(size); got != want {
			t.Fatalf("DirectApplies(%d) = %v, want %v", size, got, want)
		}
	}
}
