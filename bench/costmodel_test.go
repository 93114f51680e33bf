package bench

import (
	"math"
	"testing"
)

func TestCostModel(t *testing.T) {
	m := CostModel{Params: 1 << 20, GlobalBatch: 64, ComputePerSample: 1e-3, OptimizerPerParam: 1e-9, Alpha: 1e-4, Beta: 1e9, Segment: 1 << 20}
	one := m.Step(1)
	if one.Comm != 0 || math.Abs(one.Compute-0.064) > 1e-12 {
		t.Fatalf("%+v", one)
	}
	// 4 MiB over 2 ranks: 2 steps of 2 MiB (2 messages each).
	two := m.Step(2)
	want := 2 * (2*1e-4 + float64(2<<20)/1e9)
	if math.Abs(two.Comm-want) > 1e-12 || math.Abs(two.Compute-0.032) > 1e-12 {
		t.Fatalf("%+v, want comm %v", two, want)
	}
	// Bandwidth-bound (few ranks, big buffer): the ring wins; latency-bound
	// (2(N-1) messages at 1024 ranks): recursive doubling's log2 N steps win.
	if s := m.Step(8); s.RingAllReduce >= s.RDAllReduce {
		t.Fatalf("8 ranks: ring %v, recursive doubling %v", s.RingAllReduce, s.RDAllReduce)
	}
	if s := m.Step(1024); s.RingAllReduce <= s.RDAllReduce {
		t.Fatalf("1024 ranks: ring %v, recursive doubling %v", s.RingAllReduce, s.RDAllReduce)
	}
	// On a 2-core machine 4 ranks time-share: compute does not shrink below 2 ranks'.
	m.Cores = 2
	if c := m.Step(4).Compute; math.Abs(c-0.032) > 1e-12 {
		t.Fatalf("compute on 4 ranks of 2 cores: %v", c)
	}
}
