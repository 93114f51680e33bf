package bench

import "math"

// CostModel is an alpha-beta model of one data-parallel training step with a
// fixed global batch: compute and the optimizer divide over the ranks (up to
// the cores available), the gradient reduce-scatter and the parameter
// all-gather cost 2(N-1) ring steps of α per message plus bytes/β. With
// buckets (BucketBytes > 0) and a machine per rank, the reduce-scatter runs
// under the backward pass (2/3 of compute) and the all-gather under the next
// forward pass (1/3), except the last bucket's reduce-scatter and the first
// bucket's all-gather; ranks sharing one machine's cores get no overlap (the
// collectives' CPU work competes with the compute: docs/benchmarks.md).
type CostModel struct {
	Params            int     // parameters (float32)
	GlobalBatch       int     // samples per step over all ranks
	ComputePerSample  float64 // seconds of forward+backward per sample on one core
	OptimizerPerParam float64 // seconds of optimizer update per parameter
	Alpha             float64 // seconds per message (latency)
	Beta              float64 // bytes per second per link
	Segment           int     // bytes per message (pipeline segment)
	Cores             int     // cores shared by all ranks (one machine); 0 = a machine per rank
	BucketBytes       int     // gradient bucket size (cluster.bucket_bytes); 0 = one bucket, no overlap
	// RanksPerNode > 1 puts that many ranks on each node (contiguous
	// blocks): Alpha and Beta are then the links between nodes, NodeAlpha
	// and NodeBeta those inside a node, and Breakdown.HierAllReduce models
	// the hierarchical all-reduce. 0 or 1: one rank per node.
	RanksPerNode int
	NodeAlpha    float64 // seconds per message inside a node
	NodeBeta     float64 // bytes per second per link inside a node
}

// Breakdown is a predicted step.
type Breakdown struct {
	Compute, Optimizer, Comm, Total float64 // seconds; Comm is what the step waits for
	Hidden                          float64 // seconds of communication run under the compute
	RingAllReduce, RDAllReduce      float64 // seconds for one all-reduce of the gradients by each algorithm
	// HierAllReduce: the hierarchical all-reduce of the gradients (seconds;
	// 0 when RanksPerNode <= 1 or there is one node, where AllReduce does
	// not use it).
	HierAllReduce float64
}

// Step predicts a step on n ranks.
func (m CostModel) Step(n int) Breakdown {
	share := 1.0
	if m.Cores > 0 && n > m.Cores {
		share = float64(n) / float64(m.Cores) // ranks time-share the cores
	}
	b := Breakdown{
		Compute:   m.ComputePerSample * float64(m.GlobalBatch) / float64(n) * share,
		Optimizer: m.OptimizerPerParam * float64(m.Params) / float64(n) * share,
	}
	bytes := 4 * float64(m.Params)
	flat := m
	if m.RanksPerNode > 1 && n <= m.RanksPerNode { // one node: every link is inside it
		flat.Alpha, flat.Beta = m.NodeAlpha, m.NodeBeta
	}
	b.RingAllReduce = flat.ring(n, bytes)
	b.RDAllReduce = flat.recursiveDoubling(n, bytes)
	if l := m.RanksPerNode; l > 1 && n > l {
		b.HierAllReduce = m.hier((n+l-1)/l, l, bytes)
	}
	b.Comm = b.RingAllReduce // reduce-scatter + all-gather = one ring all-reduce (flat: the slowest link)
	if m.BucketBytes > 0 && m.Cores == 0 && n > 1 {
		buckets := math.Max(1, math.Ceil(bytes/float64(m.BucketBytes)))
		half := b.Comm / 2     // the reduce-scatter, and as much for the all-gather
		edge := half / buckets // the last bucket's reduce-scatter, the first bucket's all-gather
		backward, forward := 2*b.Compute/3, b.Compute/3
		exposed := math.Max(half-edge-backward, 0) + edge + math.Max(half-edge-forward, 0) + edge
		b.Hidden, b.Comm = b.Comm-exposed, exposed
	}
	b.Total = b.Compute + b.Optimizer + b.Comm
	return b
}

// ring: 2(N-1) steps, each moving bytes/N in ceil(bytes/N/segment) messages.
func (m CostModel) ring(n int, bytes float64) float64 {
	if n < 2 {
		return 0
	}
	chunk := bytes / float64(n)
	msgs := math.Max(1, math.Ceil(chunk/float64(max(1, m.Segment))))
	return 2 * float64(n-1) * (m.Alpha*msgs + chunk/m.Beta)
}

// recursiveDoubling: ceil(log2 N) exchanges of the whole buffer.
func (m CostModel) recursiveDoubling(n int, bytes float64) float64 {
	if n < 2 {
		return 0
	}
	return math.Ceil(math.Log2(float64(n))) * (m.Alpha + bytes/m.Beta)
}

// hier: the hierarchical all-reduce of bytes over nodes nodes of perNode
// ranks: a pipelined chain reduce inside each node, the ring among the
// nodes' leaders over the links between nodes, a pipelined chain broadcast
// inside each node. The phases are summed: an upper bound, since the
// implementation overlaps parts of them (the first chunk of the reduce with
// the ring's first send, the ring's last chunk with the broadcast's first,
// and whatever the links buffer meanwhile).
func (m CostModel) hier(nodes, perNode int, bytes float64) float64 {
	return 2*m.chain(perNode, bytes) + m.ring(nodes, bytes)
}

// chain: a pipelined chain over ranks ranks inside a node: every segment
// crosses ranks-1 links, one after the other, and the links work at once:
// (segments + ranks - 2) segment times.
func (m CostModel) chain(ranks int, bytes float64) float64 {
	if ranks < 2 {
		return 0
	}
	seg := math.Min(bytes, float64(max(1, m.Segment)))
	segs := math.Max(1, math.Ceil(bytes/seg))
	return (segs + float64(ranks-2)) * (m.NodeAlpha + seg/m.NodeBeta)
}
