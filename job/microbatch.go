package job

import (
	"fmt"
	"strconv"
	"strings"
)

// Bounds and defaults of train.accumulate and cluster.bucket_bytes.
const (
	// MaxAccumulate is the largest train.accumulate.
	MaxAccumulate = 1024
	// DefaultBucketBytes is cluster.bucket_bytes' default, 1 MiB.
	DefaultBucketBytes int64 = 1 << 20
	// MinBucketBytes and MaxBucketBytes bound a cluster.bucket_bytes that
	// is not 0 (off).
	MinBucketBytes int64 = 4096
	MaxBucketBytes int64 = 1 << 30
)

// maxListed is how many values a suggestion lists before it counts the rest.
const maxListed = 8

// accumulate is train.accumulate; a zero value (a Spec built in code, not by
// Default or Parse) counts as 1, no accumulation.
func (t Train) accumulate() int {
	if t.Accumulate < 1 {
		return 1
	}
	return t.Accumulate
}

// MicroBatch is the number of samples each of world workers computes per
// micro-batch: global_batch / (world · accumulate). The error, when that
// does not divide, names train.global_batch, train.accumulate and the world
// size, and suggests the values of train.accumulate that work on world
// workers and the world sizes in cluster.min_workers..max_workers that work
// with this train.accumulate.
func (s Spec) MicroBatch(world int) (int, error) {
	gb, k := s.Train.GlobalBatch, s.Train.accumulate()
	if world < 1 {
		return 0, fmt.Errorf("world size must be at least 1, got %d", world)
	}
	if gb < 1 {
		return 0, fmt.Errorf("train.global_batch must be positive, got %d", gb)
	}
	if gb%(world*k) == 0 {
		return gb / (world * k), nil
	}
	return 0, fmt.Errorf("train.global_batch %d with train.accumulate %d on %s: %d is not divisible by %d x %d = %d; %s; %s",
		gb, k, plural(world, "worker"), gb, world, k, world*k, s.accumulateHint(world), s.worldHint())
}

// accumulateHint says which values of train.accumulate work on world workers.
func (s Spec) accumulateHint(world int) string {
	gb := s.Train.GlobalBatch
	if gb%world != 0 {
		return fmt.Sprintf("no train.accumulate works on %s (%d is not a multiple of %d)", plural(world, "worker"), gb, world)
	}
	return fmt.Sprintf("with %s use train.accumulate %s", plural(world, "worker"), listDivisors(gb/world))
}

// worldHint says which world sizes in min_workers..max_workers work with
// this train.accumulate.
func (s Spec) worldHint() string {
	gb, k := s.Train.GlobalBatch, s.Train.accumulate()
	lo, hi := max(s.Cluster.MinWorkers, 1), s.Cluster.MaxWorkers
	var ok []int
	for n := lo; n <= hi; n++ {
		if gb%(n*k) == 0 {
			ok = append(ok, n)
		}
	}
	if len(ok) == 0 {
		return fmt.Sprintf("with accumulate %d no world size in %d..%d works (global_batch must be a multiple of %d x world)", k, lo, hi, k)
	}
	if len(ok) == 1 && ok[0] == 1 {
		return fmt.Sprintf("with accumulate %d use 1 worker", k)
	}
	return fmt.Sprintf("with accumulate %d use %s", k, listed(ok, " workers", fmt.Sprintf("world sizes in %d..%d", lo, hi)))
}

// accumulateDividesHint is Validate's message when train.accumulate does
// not divide train.global_batch.
func (s Spec) accumulateDividesHint() string {
	gb, k := s.Train.GlobalBatch, s.Train.Accumulate
	return fmt.Sprintf("%d does not divide train.global_batch %d: use train.accumulate %s, or a train.global_batch that is a multiple of %d x the world size",
		k, gb, listDivisors(gb), k)
}

// listDivisors lists the divisors of n that are valid train.accumulate
// values, for a suggestion.
func listDivisors(n int) string {
	var ds []int
	for d := 1; d <= min(n, MaxAccumulate); d++ {
		if n%d == 0 {
			ds = append(ds, d)
		}
	}
	return listed(ds, "", fmt.Sprintf("divisors of %d", n))
}

// listed writes "1, 2 or 4" and unit, or, past maxListed values, the first
// ones, unit and how many more of what there are: "1, 2, ..., 12 (and 4 more
// divisors of 60)".
func listed(vs []int, unit, what string) string {
	strs := make([]string, 0, min(len(vs), maxListed))
	for _, v := range vs[:min(len(vs), maxListed)] {
		strs = append(strs, strconv.Itoa(v))
	}
	if more := len(vs) - len(strs); more > 0 {
		return fmt.Sprintf("%s%s (and %d more %s)", strings.Join(strs, ", "), unit, more, what)
	}
	if len(strs) == 1 {
		return strs[0] + unit
	}
	return strings.Join(strs[:len(strs)-1], ", ") + " or " + strs[len(strs)-1] + unit
}

// plural writes "1 worker", "4 workers".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
