package optim

import "fmt"

// segment is a run of the shard that weight decay applies to or not.
type segment struct {
	lo, hi int
	decay  bool
}

// SetNoDecay exempts ranges of the shard ([lo, hi) pairs, shard-relative,
// ascending and disjoint) from weight decay — biases and LayerNorm gains,
// as AdamW users expect when decay applies to matrices only. The rest of
// the shard decays as the spec says. Calling it again replaces the ranges;
// nil restores decay everywhere. It allocates; Step does not.
func (b *base) SetNoDecay(ranges [][2]int) error {
	segs := make([]segment, 0, 2*len(ranges)+1)
	at := 0
	for i, r := range ranges {
		if r[0] < at || r[1] <= r[0] || r[1] > b.n {
			return fmt.Errorf("optim: no-decay range %d [%d, %d): want ascending, disjoint, non-empty ranges inside [0, %d)", i, r[0], r[1], b.n)
		}
		if r[0] > at {
			segs = append(segs, segment{at, r[0], true})
		}
		segs = append(segs, segment{r[0], r[1], false})
		at = r[1]
	}
	if at < b.n || len(segs) == 0 {
		segs = append(segs, segment{at, b.n, true})
	}
	b.segs = segs
	return nil
}

// segments are the shard's runs (one decaying run of the whole shard by
// default).
func (b *base) segments() []segment {
	if b.segs == nil {
		b.segs = []segment{{0, b.n, true}}
	}
	return b.segs
}
