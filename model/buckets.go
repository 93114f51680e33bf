package model

import "slices"

// Hooks let a caller overlap communication with a training pass. The flat
// parameter buffer is split into buckets (see Model.Buckets): contiguous
// ranges, whole small tensors together and large weight matrices split at
// row boundaries.
type Hooks struct {
	// WaitParams is called before the pass first reads bucket b's
	// parameters, at most once per bucket per pass and in the order the
	// forward pass needs them (ascending offsets). It returns when they
	// may be read.
	WaitParams func(b int)
	// GradReady is called once per bucket per pass as soon as bucket b's
	// gradients are final (backward order: roughly descending offsets).
	GradReady func(b int)
}

// Range is a half-open range [Lo, Hi) of the flat parameter buffer.
type Range struct{ Lo, Hi int }

// planBuckets splits the layout into buckets of at most maxFloats values
// (maxFloats <= 0: one bucket), built from the end of the buffer (the
// first gradients backward produces): whole tensors are grouped while they
// fit; a tensor larger than maxFloats that split allows is cut at row
// boundaries (rows of its first dimension), the short piece at its start.
// Only a tensor that may not be split, or a single row, is ever larger than
// maxFloats. It returns the ascending bucket boundaries, 0 first and the
// total last.
func planBuckets(layout []Tensor, split func(Tensor) bool, maxFloats int) []int {
	total := 0
	if n := len(layout); n > 0 {
		total = layout[n-1].Offset + layout[n-1].Size()
	}
	if maxFloats <= 0 || total <= maxFloats {
		return []int{0, total}
	}
	cuts := []int{total} // descending; the open bucket is [start, cuts[len-1])
	start := total
	for i := len(layout) - 1; i >= 0; i-- {
		t := layout[i]
		end := cuts[len(cuts)-1]
		if end-t.Offset <= maxFloats { // t fits in the open bucket
			start = t.Offset
			continue
		}
		if start != end { // close the open bucket; t opens the next one
			cuts = append(cuts, start)
		}
		start = t.Offset
		if t.Size() <= maxFloats || !split(t) {
			continue
		}
		row := t.Size() / t.Shape[0]
		per := max(1, maxFloats/row) * row
		for hi := t.Offset + t.Size(); hi-t.Offset > per; hi -= per {
			cuts = append(cuts, hi-per)
		}
	}
	if cuts[len(cuts)-1] != 0 {
		cuts = append(cuts, 0)
	}
	slices.Reverse(cuts)
	return cuts
}

// runCtx is the state of one pass that kernels share: the hooks and the
// bookkeeping that turns the kernels' parameter reads and gradient writes
// into per-bucket calls.
type runCtx struct {
	hooks     Hooks
	bounds    []int  // bucket boundaries, ascending
	waited    []bool // per bucket: WaitParams done this pass
	pending   []int  // per bucket: gradient values not final yet this pass
	gradScale float32
	grad      bool   // the running kernel writes a parameter gradient (progStep.grad)
	seed      uint64 // Pass.Seed: a training pass's random choices (dropout)
}

func (c *runCtx) setBounds(bounds []int) {
	c.bounds = bounds
	c.waited = make([]bool, len(bounds)-1)
	c.pending = make([]int, len(bounds)-1)
}

// reset prepares a pass.
func (c *runCtx) reset(h Hooks, scale float32) {
	c.hooks, c.gradScale = h, scale
	for b := range c.waited {
		c.waited[b] = false
		c.pending[b] = c.bounds[b+1] - c.bounds[b]
	}
}

// bucketOf is the bucket holding flat offset i.
func (c *runCtx) bucketOf(i int) int {
	lo, hi := 0, len(c.bounds)-1 // bounds[lo] <= i < bounds[hi]
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if c.bounds[mid] <= i {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// waitParams is called by a kernel before it reads params[lo:hi].
func (c *runCtx) waitParams(lo, hi int) {
	if c.hooks.WaitParams == nil || hi <= lo {
		return
	}
	for b := c.bucketOf(lo); b < len(c.waited) && c.bounds[b] < hi; b++ {
		if !c.waited[b] {
			c.waited[b] = true
			c.hooks.WaitParams(b)
		}
	}
}

// gradsReady is called by a kernel when grads[lo:hi] are final. It does
// nothing when the kernel's output is only a contribution to a gradient
// (see progStep.grad).
func (c *runCtx) gradsReady(lo, hi int) {
	if c.hooks.GradReady == nil || hi <= lo || !c.grad {
		return
	}
	for b := c.bucketOf(lo); b < len(c.pending) && c.bounds[b] < hi; b++ {
		n := min(hi, c.bounds[b+1]) - max(lo, c.bounds[b])
		c.pending[b] -= n
		if c.pending[b] == 0 {
			c.hooks.GradReady(b)
		}
	}
}

// nextCut is the first bucket boundary in (lo, hi), or hi.
func (c *runCtx) nextCut(lo, hi int) int {
	b := c.bucketOf(lo)
	if b+1 < len(c.bounds) && c.bounds[b+1] < hi {
		return c.bounds[b+1]
	}
	return hi
}

// prevCut is the last bucket boundary in (lo, hi), or lo.
func (c *runCtx) prevCut(lo, hi int) int {
	b := c.bucketOf(hi - 1)
	if c.bounds[b] > lo {
		return c.bounds[b]
	}
	return lo
}
