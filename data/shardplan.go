package data

import "fmt"

// ShardPlan deals the training shards of a ShardManifest among the ranks
// of a world, deterministically from a seed (docs/data.md):
//
//   - epoch e visits the shards in a permutation of their list seeded by
//     (seed, e), and each shard's records in a permutation seeded by
//     (seed, e, shard): together the epoch's stream of N positions;
//   - an epoch is N/B global batches of B (the last incomplete one is
//     dropped, as Sampler does); with world W each rank takes b = B/W
//     samples per step, and rank r reads the contiguous segment
//     [r*L, (r+1)*L) of the stream, L = (N/B)*b: step s of the epoch is
//     positions [r*L + s*b, r*L + (s+1)*b).
//
// So a rank reads only the about N/(W*shard) + 1 shards its segment
// overlaps, each once per epoch, and a Cursor is all the state: the same
// cursor, rank and world always give the same samples. The segments
// depend on W: a run resumed mid-epoch with another world size deals the
// rest of that epoch by the new world's segments (some of the epoch's
// samples are seen twice, others not), and every epoch after that visits
// each sample once again.
type ShardPlan struct {
	counts []int
	n      int
	batch  int
	seed   uint64
	// the last epoch's order and prefix sums (cache)
	epoch  int
	order  []int
	prefix []int64
}

// orderSalt and recordSalt separate the shard order's and the records'
// random streams from Sampler's.
const (
	orderSalt  = 0x5348415244534f52 // "SHARDSOR"
	recordSalt = 0x5245434f52445348 // "RECORDSH"
)

// NewShardPlan returns the plan over shards of counts samples each.
func NewShardPlan(counts []int, globalBatch int, seed uint64) (*ShardPlan, error) {
	n := 0
	for i, c := range counts {
		if c < 1 {
			return nil, fmt.Errorf("data: shard plan: shard %d has %d samples: want >= 1", i, c)
		}
		n += c
	}
	if n < 1 {
		return nil, fmt.Errorf("data: shard plan: no samples")
	}
	if globalBatch < 1 || globalBatch > n {
		return nil, fmt.Errorf("data: shard plan: global batch %d: want 1..%d (the number of samples)", globalBatch, n)
	}
	return &ShardPlan{counts: append([]int(nil), counts...), n: n, batch: globalBatch, seed: seed, epoch: -1}, nil
}

// StepsPerEpoch is the number of full global batches per epoch.
func (p *ShardPlan) StepsPerEpoch() int { return p.n / p.batch }

// Shards is the number of shards.
func (p *ShardPlan) Shards() int { return len(p.counts) }

// Segment returns the stream positions [lo, hi) of rank's samples at
// cursor c, and the end of rank's segment of the epoch.
func (p *ShardPlan) Segment(c Cursor, rank, world int) (lo, hi, end int64, err error) {
	if world < 1 || p.batch%world != 0 {
		return 0, 0, 0, fmt.Errorf("data: shard plan: world size %d does not divide the global batch %d", world, p.batch)
	}
	if rank < 0 || rank >= world {
		return 0, 0, 0, fmt.Errorf("data: shard plan: rank %d: want [0, %d)", rank, world)
	}
	if c.Epoch < 0 || c.Step < 0 || c.Step >= p.StepsPerEpoch() {
		return 0, 0, 0, fmt.Errorf("data: shard plan: cursor %+v: want Epoch >= 0 and Step in [0, %d)", c, p.StepsPerEpoch())
	}
	b := int64(p.batch / world)
	l := int64(p.StepsPerEpoch()) * b
	lo = int64(rank)*l + int64(c.Step)*b
	return lo, lo + b, int64(rank+1) * l, nil
}

// Order returns epoch's shard order and the stream position of each
// shard's first record in it (prefix[k] for order[k]; prefix[len] = N).
// The slices are the plan's cache: read only, valid until the next call
// with another epoch.
func (p *ShardPlan) Order(epoch int) (order []int, prefix []int64) {
	if p.epoch != epoch || p.order == nil {
		if p.order == nil {
			p.order, p.prefix = make([]int, len(p.counts)), make([]int64, len(p.counts)+1)
		}
		permute(p.order, p.seed^orderSalt, uint64(epoch))
		for k, s := range p.order {
			p.prefix[k+1] = p.prefix[k] + int64(p.counts[s])
		}
		p.epoch = epoch
	}
	return p.order, p.prefix
}

// RecordOrder fills perm (len = the shard's count) with the order in
// which epoch visits shard's records.
func (p *ShardPlan) RecordOrder(epoch, shard int, perm []int) {
	permute(perm, p.seed^recordSalt^(uint64(shard)+1)*0x9e3779b97f4a7c15, uint64(epoch))
}

// Locate returns the index k into order of the shard holding stream
// position pos, given Order's prefix sums.
func Locate(prefix []int64, pos int64) int {
	lo, hi := 0, len(prefix)-2
	for lo < hi { // the last k with prefix[k] <= pos
		mid := (lo + hi + 1) / 2
		if prefix[mid] <= pos {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// ShardSample is one sample of the plan: a shard and a record in it.
type ShardSample struct{ Shard, Record int }

// Samples is the dumb reference of the plan: the (shard, record) of each
// of rank's samples at cursor c, computed from scratch.
func (p *ShardPlan) Samples(c Cursor, rank, world int) ([]ShardSample, error) {
	lo, hi, _, err := p.Segment(c, rank, world)
	if err != nil {
		return nil, err
	}
	var stream []ShardSample
	order := make([]int, len(p.counts))
	permute(order, p.seed^orderSalt, uint64(c.Epoch))
	for _, s := range order {
		perm := make([]int, p.counts[s])
		p.RecordOrder(c.Epoch, s, perm)
		for _, r := range perm {
			stream = append(stream, ShardSample{s, r})
		}
	}
	return stream[lo:hi], nil
}
