package data

import (
	"fmt"
	"math"
)

// valSplitStream tells the validation split's shuffle apart from the
// sampler's epochs (whose PCG stream is the epoch number).
const valSplitStream = math.MaxUint64 - 1

// SplitValidation carves a validation split from d: the samples are
// shuffled by the permutation of (seed, a stream of their own), the first
// round(frac·N) become the validation set and the rest the training set,
// each in the shuffled order. Both are copies with d's Shape and Classes;
// the result depends on d, frac and seed alone. frac is in (0, 0.5]; both
// parts must keep at least one sample.
func SplitValidation(d *Dataset, frac float64, seed uint64) (train, val *Dataset, err error) {
	if !(frac > 0 && frac <= 0.5) {
		return nil, nil, fmt.Errorf("data: validation fraction %v: want (0, 0.5]", frac)
	}
	nv := int(math.Round(frac * float64(d.N)))
	if nv < 1 || d.N-nv < 1 {
		return nil, nil, fmt.Errorf("data: %s: validation fraction %v of %d samples leaves %d for validation and %d for training: want at least 1 each",
			d.Name, frac, d.N, nv, d.N-nv)
	}
	perm := make([]int, d.N)
	permute(perm, seed, valSplitStream)
	take := func(idx []int, name string) (*Dataset, error) {
		out := &Dataset{Name: d.Name + "/" + name, N: len(idx), Dim: d.Dim, Shape: d.Shape, Classes: d.Classes,
			X: make([]float32, len(idx)*d.Dim), Y: make([]int32, len(idx))}
		return out, d.Gather(idx, out.X, out.Y)
	}
	if val, err = take(perm[:nv], "val"); err != nil {
		return nil, nil, err
	}
	if train, err = take(perm[nv:], "train"); err != nil {
		return nil, nil, err
	}
	return train, val, nil
}
