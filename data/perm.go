package data

import (
	"math/bits"
	"math/rand/v2"
)

// permute fills perm with the permutation of [0, len(perm)) for (seed,
// epoch): the identity shuffled by Fisher-Yates with indices drawn from a
// PCG seeded with (seed, epoch). Only PCG's output stream is taken from the
// standard library; the reduction to a bounded index is ours, so the
// permutation is fixed by this code and not by the Go release.
func permute(perm []int, seed, epoch uint64) {
	for i := range perm {
		perm[i] = i
	}
	src := rand.NewPCG(seed, epoch)
	for i := len(perm) - 1; i > 0; i-- {
		j := int(boundedUint64(src, uint64(i)+1))
		perm[i], perm[j] = perm[j], perm[i]
	}
}

// boundedUint64 returns a uniform value in [0, n), n > 0, by Lemire's
// multiply-and-reject method ("Fast random integer generation in an
// interval", 2019).
func boundedUint64(src *rand.PCG, n uint64) uint64 {
	hi, lo := bits.Mul64(src.Uint64(), n)
	if lo < n {
		threshold := -n % n
		for lo < threshold {
			hi, lo = bits.Mul64(src.Uint64(), n)
		}
	}
	return hi
}
