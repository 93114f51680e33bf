package allreduce

import (
	"fmt"
	"slices"
	"testing"
)

func TestHalvingAllReduceScheduleIsCorrectAndBandwidthOptimal(t *testing.T) {
	for _, size := range []int{2, 4, 8, 16} {
		for _, n := range []int{1, size - 1, size, size + 1, 10 * size, 1000} {
			t.Run(fmt.Sprintf("world%d/n%d", size, n), func(t *testing.T) {
				checkBandwidthOptimal(t, size, n, func(r int) []Step { return HalvingAllReduce(r, size, n) })
			})
		}
	}
}

// The reduce-scatter half leaves rank r reducing exactly chunk r, each
// step exchanges with a recursive-doubling partner (which Peers links),
// and every step after the first sends only once the receives before it
// are done.
func TestHalvingAllReduceSteps(t *testing.T) {
	for _, size := range []int{4, 8, 16} {
		rounds := 0
		for m := 1; m < size; m *= 2 {
			rounds++
		}
		for r := range size {
			steps := HalvingAllReduce(r, size, 1000)
			if len(steps) != 2*rounds {
				t.Fatalf("world %d rank %d: %d steps, want %d", size, r, len(steps), 2*rounds)
			}
			last := steps[rounds-1]
			if lo, hi := ShardRange(1000, size, r); last.RecvLo != lo || last.RecvHi != hi || !last.Final {
				t.Fatalf("world %d rank %d: reduce-scatter ends on [%d,%d) final %v, want chunk [%d,%d)", size, r, last.RecvLo, last.RecvHi, last.Final, lo, hi)
			}
			peers := Peers(r, size)
			for k, st := range steps {
				if st.To != st.From || !slices.Contains(peers, st.To) || st.Reduce != (k < rounds) || st.SendAfterAll != (k > 0) || st.SendWire != k || st.RecvWire != k {
					t.Fatalf("world %d rank %d step %d: %+v (peers %v)", size, r, k, st, peers)
				}
			}
		}
	}
	if HalvingAllReduce(0, 6, 100) != nil || HalvingAllReduce(0, 1, 100) != nil {
		t.Fatal("a schedule for a world that is not a power of two, or of one rank")
	}
}

func TestHalvingApplies(t *testing.T) {
	for size := 1; size <= 64; size++ {
		want := size == 4 || size == 8 || size == 16 || size == 32 || size == 64
		if got := HalvingApplies(size); got != want {
			t.Fatalf("HalvingApplies(%d) = %v", size, got)
		}
	}
}
