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

func TestCostModelOverlap(t *testing.T) {
	m := CostModel{Params: 1 << 20, GlobalBatch: 64, ComputePerSample: 1e-3, OptimizerPerParam: 1e-9, Alpha: 1e-4, Beta: 1e9, Segment: 1 << 20}
	plain := m.Step(2)
	m.BucketBytes = 1 << 20 // 4 buckets of the 4 MiB gradient
	b := m.Step(2)
	// 2 ranks: ring 4.6 ms, half 2.3 ms, edge 0.575 ms; backward 21.3 ms and
	// forward 10.7 ms hide everything but the two edges.
	if want := plain.Comm / 4; math.Abs(b.Comm-want) > 1e-12 || math.Abs(b.Hidden+b.Comm-plain.Comm) > 1e-12 {
		t.Fatalf("exposed %v hidden %v, want exposed %v of %v", b.Comm, b.Hidden, want, plain.Comm)
	}
	if math.Abs(b.Total-(plain.Total-b.Hidden)) > 1e-12 {
		t.Fatalf("total %v, want %v", b.Total, plain.Total-b.Hidden)
	}
	// Compute too short to hide it: the rest is exposed.
	m.ComputePerSample = 1e-6
	c := m.Step(2)
	if c.Hidden <= 0 || c.Hidden > c.Compute || c.Comm+c.Hidden-plain.Comm > 1e-12 {
		t.Fatalf("short compute: %+v", c)
	}
	// Ranks sharing one machine's cores: nothing hidden.
	m.ComputePerSample, m.Cores = 1e-3, 2
	if s := m.Step(2); s.Hidden != 0 || s.Comm != plain.Comm {
		t.Fatalf("one machine: %+v", s)
	}
}
