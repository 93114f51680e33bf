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

// The hierarchical all-reduce against closed-form values: 2 nodes × 2
// ranks, a 1 Gbit/s link between nodes, 10 Gbit/s inside a node, no
// latency, 64 MiB. Flat ring over 4 ranks: 6 steps of 16 MiB through the
// slow link = 6·16 MiB/β; hierarchical: a 2-rank chain (64 segments of
// 1 MiB) at β_node each way, and a 2-leader ring of 2 steps of 32 MiB.
func TestCostModelHier(t *testing.T) {
	const mib = 1 << 20
	m := CostModel{Params: 16 * mib, GlobalBatch: 64, Beta: 125e6, Segment: mib,
		RanksPerNode: 2, NodeBeta: 1.25e9}
	b := m.Step(4)
	flat := 6 * 16 * mib / 125e6
	chain := 64 * mib / 1.25e9
	hier := 2*chain + 2*32*mib/125e6
	if math.Abs(b.RingAllReduce-flat) > 1e-9 || math.Abs(b.HierAllReduce-hier) > 1e-9 {
		t.Fatalf("flat %v hier %v, want %v and %v", b.RingAllReduce, b.HierAllReduce, flat, hier)
	}
	// 6·16 / (64·(2/10) + 2·32) = 96/76.8 = 1.25.
	if r := b.RingAllReduce / b.HierAllReduce; math.Abs(r-1.25) > 1e-9 {
		t.Fatalf("flat/hier %v, want 1.25", r)
	}
	// A longer chain pays one segment per extra rank; latency per message.
	m.RanksPerNode, m.NodeAlpha = 4, 1e-6
	if got, want := m.chain(4, 64*mib), (64+2)*(1e-6+mib/1.25e9); math.Abs(got-want) > 1e-12 {
		t.Fatalf("chain of 4: %v, want %v", got, want)
	}
	// One node: the flat ring runs on the links inside it.
	m.RanksPerNode, m.NodeAlpha = 2, 0
	if r := m.Step(2).RingAllReduce; math.Abs(r-2*32*mib/1.25e9) > 1e-9 {
		t.Fatalf("one node of 2: ring %v", r)
	}
	// Not applicable: one rank per node, or a single node.
	for _, tc := range []struct{ perNode, n int }{{1, 4}, {0, 4}, {4, 4}, {4, 2}} {
		m.RanksPerNode = tc.perNode
		if h := m.Step(tc.n).HierAllReduce; h != 0 {
			t.Fatalf("%d ranks, %d per node: hier %v, want 0 (not used)", tc.n, tc.perNode, h)
		}
	}
}
