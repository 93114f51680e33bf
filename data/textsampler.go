package data

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
)

// WindowSampler deals the training windows of a token sequence (a Text's
// Train): a sample is the window of Context() input tokens starting at a
// position p in [0, Positions()) and its next-token targets, the tokens
// p+1 .. p+Context(). It holds no mutable state and is safe for concurrent
// use.
type WindowSampler struct {
	n, context, batch int
	seed              uint64
}

// NewWindowSampler returns the sampler of global batches of globalBatch
// windows of context tokens over a sequence of nTokens tokens. A window
// needs context+1 tokens (inputs and the last target): 1 <= context <
// nTokens.
func NewWindowSampler(nTokens, context, globalBatch int, seed uint64) (*WindowSampler, error) {
	if context < 1 || context >= nTokens {
		return nil, fmt.Errorf("data: window sampler: context %d over a text of %d tokens: want 1 <= context <= %d (a window and its targets take context+1 tokens)",
			context, nTokens, nTokens-1)
	}
	if globalBatch < 1 {
		return nil, fmt.Errorf("data: window sampler: global batch %d: want >= 1", globalBatch)
	}
	return &WindowSampler{n: nTokens, context: context, batch: globalBatch, seed: seed}, nil
}

// Positions is the number of distinct window starts, nTokens - context.
func (s *WindowSampler) Positions() int { return s.n - s.context }

// Context is the number of input tokens (and of targets) of a window.
func (s *WindowSampler) Context() int { return s.context }

// GlobalBatch is the number of windows of a step, over all ranks.
func (s *WindowSampler) GlobalBatch() int { return s.batch }

// Starts appends to out[:0] the window starts that rank of world processes
// at global step step (>= 0), and returns the result: the contiguous part
// [rank*B/world, (rank+1)*B/world) of the step's global batch of B starts.
// world must divide B.
//
// The global batch of a step is B positions drawn uniformly, with
// replacement, from a PCG (math/rand/v2) seeded with splitmix64 of the
// seed and of the step; the reduction to a position is this package's own
// (Lemire's method), so the starts depend on nothing but (seed, step, B,
// Positions()), not on the Go release, the world size or earlier steps: a
// resumed run regenerates any step directly.
func (s *WindowSampler) Starts(step int64, rank, world int, out []int) ([]int, error) {
	if world < 1 || s.batch%world != 0 {
		return out[:0], fmt.Errorf("data: window sampler: world size %d does not divide the global batch %d", world, s.batch)
	}
	if rank < 0 || rank >= world {
		return out[:0], fmt.Errorf("data: window sampler: rank %d: want [0, %d)", rank, world)
	}
	if step < 0 {
		return out[:0], fmt.Errorf("data: window sampler: step %d: want >= 0", step)
	}
	per := s.batch / world
	lo := rank * per
	var src rand.PCG
	src.Seed(splitmix64(s.seed), splitmix64(uint64(step)))
	positions := uint64(s.Positions())
	for range lo {
		boundedUint64(&src, positions)
	}
	out = out[:0]
	for range per {
		out = append(out, int(boundedUint64(&src, positions)))
	}
	return out, nil
}

// splitmix64 is the output function of SplitMix64 (Steele, Lea and Flood,
// 2014) at state x: a bijective mix of 64-bit values, here to turn nearby
// seeds and steps into unrelated PCG seeds.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// Window fills x with the len(x) tokens from start and y with their
// next-token targets, the tokens from start+1: y is x shifted by one. len(y)
// must equal len(x) >= 1, and the window must fit: start >= 0 and
// start+len(x)+1 <= len(tokens).
func Window(tokens []uint16, start int, x, y []int32) error {
	if err := fillWindow(tokens, start, x, y); err != nil {
		return fmt.Errorf("data: window: %w", err)
	}
	return nil
}

// Windows fills x and y, each of len(starts)*context tokens, with the
// windows at starts, one after the other (see Window): the [batch,
// context] inputs and targets of a batch.
func Windows(tokens []uint16, starts []int, context int, x, y []int32) error {
	if context < 1 || len(x) != len(starts)*context || len(y) != len(x) {
		return fmt.Errorf("data: windows: %d starts of context %d: want %d inputs and targets, got %d and %d",
			len(starts), context, len(starts)*max(context, 0), len(x), len(y))
	}
	for i, p := range starts {
		if err := fillWindow(tokens, p, x[i*context:(i+1)*context], y[i*context:(i+1)*context]); err != nil {
			return fmt.Errorf("data: windows: window %d: %w", i, err)
		}
	}
	return nil
}

// fillWindow is Window, with errors unprefixed.
func fillWindow(tokens []uint16, start int, x, y []int32) error {
	context := len(x)
	if context < 1 || len(y) != context {
		return fmt.Errorf("%d inputs and %d targets: want the same number, >= 1", len(x), len(y))
	}
	if start < 0 || start > len(tokens)-context-1 {
		return fmt.Errorf("start %d with context %d over %d tokens: want 0 <= start <= %d",
			start, context, len(tokens), len(tokens)-context-1)
	}
	for i, t := range tokens[start : start+context] {
		x[i] = int32(t)
	}
	for i, t := range tokens[start+1 : start+1+context] {
		y[i] = int32(t)
	}
	return nil
}

// EvalStarts returns the starts of the fixed evaluation windows of context
// tokens over a sequence of nTokens tokens (a Text's Val): min(count, P)
// starts, P = nTokens - context the number of possible ones, evenly spread
// from 0 to P-1 (start i is floor(i*(P-1)/(count-1))), so the first
// window begins the sequence and the last one ends it. They are strictly
// increasing, and do not overlap (each token is a target at most once)
// whenever count*context <= nTokens-1. There is no randomness: the set
// depends on the arguments only. It needs 1 <= context < nTokens and
// count >= 1.
func EvalStarts(nTokens, context, count int) ([]int, error) {
	if context < 1 || context >= nTokens {
		return nil, fmt.Errorf("data: eval windows: context %d over a text of %d tokens: want 1 <= context <= %d (a window and its targets take context+1 tokens)",
			context, nTokens, nTokens-1)
	}
	if count < 1 {
		return nil, fmt.Errorf("data: eval windows: count %d: want >= 1", count)
	}
	p := nTokens - context
	count = min(count, p)
	starts := make([]int, count)
	if count == 1 {
		return starts, nil
	}
	for i := range starts {
		// i*(p-1) < (count-1) * 2^64, so the quotient fits: no panic.
		hi, lo := bits.Mul64(uint64(i), uint64(p-1))
		q, _ := bits.Div64(hi, lo, uint64(count-1))
		starts[i] = int(q)
	}
	return starts, nil
}

// ShardEval returns the contiguous share of starts that rank of world
// evaluates (see EvalRange): sizes differ by at most one and the shares,
// in rank order, are starts. The result aliases starts. Invalid arguments
// (world < 1, rank outside [0, world)) give an empty share.
func ShardEval(starts []int, rank, world int) []int {
	lo, hi := EvalRange(len(starts), rank, world)
	return starts[lo:hi:hi]
}
