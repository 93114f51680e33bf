package allreduce_test

import (
	"fmt"
	"testing"

	"github.com/ringtrain/ringtrain/allreduce"
)

// halvingCfg: buffers above 8 KiB and up to 256 KiB run recursive halving
// and doubling on 4 and 8 ranks; frames of 16 KiB.
func halvingCfg() allreduce.Config {
	c := smallCfg()
	c.HalvingBytes = 256 << 10
	c.NoShared = true // the schedule, not shared memory's all-reduce
	return c
}

// Recursive halving and doubling matches the reference on every fabric,
// ends bitwise the same on every rank, repeats bitwise, and is what ran;
// 1_000_000 floats (HalvingBytes at its maximum) take the pipelined path.
func TestHalvingAllReduceMatchesReference(t *testing.T) {
	big := halvingCfg()
	big.HalvingBytes = 64 << 20
	algorithmMatchesReference(t, allreduce.OpAllReduceHalving, []int{4, 8}, halvingCfg(), big)
}

// With both thresholds, 4 ranks run halving up to HalvingBytes and direct
// above it up to DirectBytes; 3 ranks run direct.
func TestHalvingBeforeDirect(t *testing.T) {
	cfg := halvingCfg()
	cfg.DirectBytes = 512 << 10
	for _, tc := range []struct {
		size, n int
		want    allreduce.Op
	}{{4, 20_000, allreduce.OpAllReduceHalving}, {4, 100_000, allreduce.OpAllReduceDirect}, {3, 20_000, allreduce.OpAllReduceDirect}, {4, 200_000, allreduce.OpAllReduceRing}} {
		t.Run(fmt.Sprintf("world%d/n%d", tc.size, tc.n), func(t *testing.T) {
			g := newGroup(t, memFabric, tc.size, cfg)
			ops := traceOps(g)
			checkAllReduce(t, g, tc.size, tc.n, allreduce.Sum)
			if !ops[tc.want] || len(ops) != 1 {
				t.Fatalf("ran %v, want only %v", ops, tc.want)
			}
		})
	}
}

func TestHalvingAbortMidCallOnEveryRank(t *testing.T) {
	abortOneMidCall(t, halvingCfg(), inFlightDirect)
}

func TestHalvingKilledRankMakesOthersFailFast(t *testing.T) {
	killedRankFailsFast(t, halvingCfg(), inFlightDirect, 4)
}
