package data

import "fmt"

// Cursor is the position of the NEXT global batch: Step is 0-based within
// Epoch. It is the only sampler state a checkpoint needs.
type Cursor struct {
	Epoch, Step int
}

// Advance returns the cursor of the batch after c. A stepsPerEpoch <= 0
// (never returned by a valid Sampler) moves to the next epoch.
func (c Cursor) Advance(stepsPerEpoch int) Cursor {
	c.Step++
	if c.Step >= stepsPerEpoch {
		return Cursor{Epoch: c.Epoch + 1}
	}
	return c
}

// Sampler deals global batches of a dataset of n samples, deterministically
// from a seed, and splits each among the ranks of a world. It caches the
// permutation of the epoch last asked for; it is not safe for concurrent
// use.
type Sampler struct {
	n, batch  int
	seed      uint64
	perm      []int // permutation of epoch permEpoch; nil until first use
	permEpoch int
}

// NewSampler returns a sampler over n samples with the given global batch
// size (1 <= globalBatch <= n).
func NewSampler(n, globalBatch int, seed uint64) (*Sampler, error) {
	if n < 1 {
		return nil, fmt.Errorf("data: sampler: %d samples: want >= 1", n)
	}
	if globalBatch < 1 || globalBatch > n {
		return nil, fmt.Errorf("data: sampler: global batch %d: want 1..%d (the number of samples)", globalBatch, n)
	}
	return &Sampler{n: n, batch: globalBatch, seed: seed}, nil
}

// StepsPerEpoch is the number of full global batches per epoch (the last
// incomplete one is dropped).
func (s *Sampler) StepsPerEpoch() int { return s.n / s.batch }

// Indices appends to out[:0] the sample indices that rank of world
// processes for the global batch at cursor c, and returns the result: the
// contiguous part [rank*B/world, (rank+1)*B/world) of global batch c.Step of
// epoch c.Epoch. world must divide the global batch B.
func (s *Sampler) Indices(c Cursor, rank, world int, out []int) ([]int, error) {
	if world < 1 || s.batch%world != 0 {
		return out[:0], fmt.Errorf("data: sampler: world size %d does not divide the global batch %d", world, s.batch)
	}
	if rank < 0 || rank >= world {
		return out[:0], fmt.Errorf("data: sampler: rank %d: want [0, %d)", rank, world)
	}
	if c.Epoch < 0 || c.Step < 0 || c.Step >= s.StepsPerEpoch() {
		return out[:0], fmt.Errorf("data: sampler: cursor %+v: want Epoch >= 0 and Step in [0, %d)", c, s.StepsPerEpoch())
	}
	if s.perm == nil || s.permEpoch != c.Epoch {
		if s.perm == nil {
			s.perm = make([]int, s.n)
		}
		permute(s.perm, s.seed, uint64(c.Epoch))
		s.permEpoch = c.Epoch
	}
	per := s.batch / world
	lo := c.Step*s.batch + rank*per
	return append(out[:0], s.perm[lo:lo+per]...), nil
}

// EvalRange returns the contiguous range [lo, hi) of n evaluation samples
// that rank of world evaluates. Sizes differ by at most one (the first
// n%world ranks get one more), and the ranges tile [0, n) in rank order.
// Invalid arguments (n < 0, world < 1, rank outside [0, world)) give the
// empty range (0, 0).
func EvalRange(n, rank, world int) (lo, hi int) {
	if n < 0 || world < 1 || rank < 0 || rank >= world {
		return 0, 0
	}
	base, rem := n/world, n%world
	lo = rank*base + min(rank, rem)
	hi = lo + base
	if rank < rem {
		hi++
	}
	return lo, hi
}
