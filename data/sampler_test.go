package data

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

func mustSampler(t testing.TB, n, b int, seed uint64) *Sampler {
	t.Helper()
	s, err := NewSampler(n, b, seed)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustIndices(t testing.TB, s *Sampler, c Cursor, rank, world int) []int {
	t.Helper()
	idx, err := s.Indices(c, rank, world, nil)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

// TestRanksPartitionTheGlobalBatch: the rank batches, concatenated in rank
// order, are the world-size-1 batch, for every world size dividing B.
func TestRanksPartitionTheGlobalBatch(t *testing.T) {
	const n, b = 1000, 24
	s := mustSampler(t, n, b, 7)
	for _, c := range []Cursor{{0, 0}, {0, 5}, {3, 40}} {
		whole := mustIndices(t, s, c, 0, 1)
		if len(whole) != b {
			t.Fatalf("world 1 batch has %d samples, want %d", len(whole), b)
		}
		for _, world := range []int{1, 2, 3, 4, 6, 8, 12, 24} {
			var joined []int
			for r := range world {
				part := mustIndices(t, s, c, r, world)
				if len(part) != b/world {
					t.Fatalf("world %d rank %d: %d samples, want %d", world, r, len(part), b/world)
				}
				joined = append(joined, part...)
			}
			if !slices.Equal(joined, whole) {
				t.Errorf("cursor %+v world %d: ranks give %v, world 1 gives %v", c, world, joined, whole)
			}
		}
	}
}

// TestEpochCoverage: the batches of one epoch are disjoint and cover
// StepsPerEpoch*B distinct samples.
func TestEpochCoverage(t *testing.T) {
	for _, tc := range []struct{ n, b int }{{1000, 24}, {100, 100}, {7, 2}, {1, 1}} {
		s := mustSampler(t, tc.n, tc.b, 3)
		if got := s.StepsPerEpoch(); got != tc.n/tc.b {
			t.Fatalf("n=%d b=%d: StepsPerEpoch %d, want %d", tc.n, tc.b, got, tc.n/tc.b)
		}
		seen := map[int]bool{}
		for step := range s.StepsPerEpoch() {
			for _, i := range mustIndices(t, s, Cursor{Epoch: 2, Step: step}, 0, 1) {
				if i < 0 || i >= tc.n || seen[i] {
					t.Fatalf("n=%d b=%d: index %d out of range or repeated", tc.n, tc.b, i)
				}
				seen[i] = true
			}
		}
		if len(seen) != s.StepsPerEpoch()*tc.b {
			t.Errorf("n=%d b=%d: %d distinct samples, want %d", tc.n, tc.b, len(seen), s.StepsPerEpoch()*tc.b)
		}
	}
}

func epochOrder(t *testing.T, s *Sampler, epoch int) []int {
	var all []int
	for step := range s.StepsPerEpoch() {
		all = append(all, mustIndices(t, s, Cursor{Epoch: epoch, Step: step}, 0, 1)...)
	}
	return all
}

func TestEpochsAndSeeds(t *testing.T) {
	a, b := mustSampler(t, 500, 10, 1), mustSampler(t, 500, 10, 1)
	e0, e1 := epochOrder(t, a, 0), epochOrder(t, a, 1)
	if slices.Equal(e0, e1) {
		t.Error("epochs 0 and 1 have the same permutation")
	}
	if !slices.Equal(epochOrder(t, b, 1), e1) || !slices.Equal(epochOrder(t, b, 0), e0) {
		t.Error("same seed, different permutation")
	}
	if slices.Equal(epochOrder(t, mustSampler(t, 500, 10, 2), 0), e0) {
		t.Error("different seeds, same permutation")
	}
	// The global batch size changes the split, not the permutation.
	if !slices.Equal(epochOrder(t, mustSampler(t, 500, 20, 1), 0), e0) {
		t.Error("the permutation depends on the batch size")
	}
}

// TestGoldenPermutation pins the permutation: it is part of the checkpoint
// format (a resumed job must see the same samples), so a change in this
// package or in the Go release must not move it silently.
func TestGoldenPermutation(t *testing.T) {
	s := mustSampler(t, 10, 10, 12345)
	got := fmt.Sprint(mustIndices(t, s, Cursor{Epoch: 0}, 0, 1), mustIndices(t, s, Cursor{Epoch: 1}, 0, 1))
	const want = "[3 0 2 4 7 5 9 1 6 8] [2 9 1 0 8 5 4 3 7 6]"
	if got != want {
		t.Errorf("permutations of epochs 0 and 1 = %s, want %s", got, want)
	}
}

// TestPermutationUniform: every permutation of 4 elements is about equally
// likely (checks the bounded-integer reduction).
func TestPermutationUniform(t *testing.T) {
	const trials = 24000
	perm := make([]int, 4)
	counts := map[[4]int]int{}
	for e := range trials {
		permute(perm, 99, uint64(e))
		counts[[4]int(perm)]++
	}
	if len(counts) != 24 {
		t.Fatalf("%d distinct permutations of 4, want 24", len(counts))
	}
	for p, k := range counts {
		if k < 800 || k > 1200 { // expected 1000, sd ~31
			t.Errorf("permutation %v seen %d times of %d, want about 1000", p, k, trials)
		}
	}
}

// TestCursorResume: a cursor saved mid-epoch and restored into a fresh
// sampler continues with the same batches as the uninterrupted sampler,
// across an epoch boundary.
func TestCursorResume(t *testing.T) {
	const n, b, world = 103, 8, 4
	spe := n / b
	run := func(s *Sampler, c Cursor, steps int) (Cursor, [][]int) {
		var out [][]int
		for range steps {
			var batch []int
			for r := range world {
				batch = append(batch, mustIndices(t, s, c, r, world)...)
			}
			out = append(out, batch)
			c = c.Advance(spe)
		}
		return c, out
	}
	full := mustSampler(t, n, b, 77)
	_, want := run(full, Cursor{}, 3*spe)

	first := mustSampler(t, n, b, 77)
	saved, got1 := run(first, Cursor{}, spe+5)
	if saved != (Cursor{Epoch: 1, Step: 5}) {
		t.Fatalf("cursor after %d steps = %+v, want {1 5}", spe+5, saved)
	}
	_, got2 := run(mustSampler(t, n, b, 77), saved, 2*spe-5)
	if got := append(got1, got2...); !slices.EqualFunc(got, want, slices.Equal[[]int]) {
		t.Error("resumed run differs from the uninterrupted one")
	}
}

// TestIndicesCacheMatchesFresh: the cached permutation (fast path) gives
// the same batches as a fresh sampler per call (the dumb reference), when
// epochs are visited out of order.
func TestIndicesCacheMatchesFresh(t *testing.T) {
	cached := mustSampler(t, 50, 5, 11)
	buf := make([]int, 0, 5)
	for _, c := range []Cursor{{0, 0}, {0, 9}, {2, 3}, {1, 1}, {2, 3}, {0, 0}} {
		got, err := cached.Indices(c, 1, 5, buf)
		if err != nil {
			t.Fatal(err)
		}
		want := mustIndices(t, mustSampler(t, 50, 5, 11), c, 1, 5)
		if !slices.Equal(got, want) {
			t.Errorf("cursor %+v: cached %v, fresh %v", c, got, want)
		}
		buf = got
	}
}

func TestIndicesReusesOut(t *testing.T) {
	s := mustSampler(t, 100, 10, 1)
	out := make([]int, 3, 10)
	got := mustIndicesInto(t, s, out)
	if &got[0] != &out[:1][0] || len(got) != 5 {
		t.Errorf("Indices did not append to out[:0]")
	}
	if a := testing.AllocsPerRun(20, func() { _, _ = s.Indices(Cursor{Step: 3}, 1, 2, out) }); a != 0 {
		t.Errorf("Indices allocates %v times per call with a cached epoch and capacity", a)
	}
}

func mustIndicesInto(t *testing.T, s *Sampler, out []int) []int {
	got, err := s.Indices(Cursor{}, 0, 2, out)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestSamplerErrors(t *testing.T) {
	for _, tc := range []struct {
		n, b int
		want string
	}{
		{0, 1, "0 samples"},
		{10, 0, "global batch 0"},
		{10, 11, "global batch 11: want 1..10"},
	} {
		if _, err := NewSampler(tc.n, tc.b, 0); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewSampler(%d, %d): %v, want %q", tc.n, tc.b, err, tc.want)
		}
	}
	s := mustSampler(t, 100, 12, 0)
	for _, tc := range []struct {
		c           Cursor
		rank, world int
		want        string
	}{
		{Cursor{}, 0, 5, "world size 5 does not divide the global batch 12"},
		{Cursor{}, 0, 0, "world size 0"},
		{Cursor{}, 0, -3, "world size -3"},
		{Cursor{}, 4, 4, "rank 4: want [0, 4)"},
		{Cursor{}, -1, 4, "rank -1"},
		{Cursor{Step: 8}, 0, 1, "Step in [0, 8)"},
		{Cursor{Step: -1}, 0, 1, "cursor {Epoch:0 Step:-1}"},
		{Cursor{Epoch: -1}, 0, 1, "cursor {Epoch:-1 Step:0}"},
	} {
		out, err := s.Indices(tc.c, tc.rank, tc.world, make([]int, 4))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Indices(%+v, %d, %d): %v, want %q", tc.c, tc.rank, tc.world, err, tc.want)
		}
		if len(out) != 0 {
			t.Errorf("Indices(%+v, %d, %d) returned %d indices with an error", tc.c, tc.rank, tc.world, len(out))
		}
	}
}

func TestCursorAdvance(t *testing.T) {
	tests := []struct {
		c    Cursor
		spe  int
		want Cursor
	}{
		{Cursor{0, 0}, 3, Cursor{0, 1}},
		{Cursor{0, 2}, 3, Cursor{1, 0}},
		{Cursor{4, 0}, 1, Cursor{5, 0}},
		{Cursor{2, 1}, 0, Cursor{3, 0}},
	}
	for _, tt := range tests {
		if got := tt.c.Advance(tt.spe); got != tt.want {
			t.Errorf("%+v.Advance(%d) = %+v, want %+v", tt.c, tt.spe, got, tt.want)
		}
	}
}

// evalRangeRef is the dumb reference: deal samples one by one.
func evalRangeRef(n, rank, world int) (int, int) {
	sizes := make([]int, world)
	for i := range n {
		sizes[i%world]++
	}
	lo := 0
	for r := range rank {
		lo += sizes[r]
	}
	return lo, lo + sizes[rank]
}

func TestEvalRange(t *testing.T) {
	for n := range 30 {
		for world := 1; world <= 9; world++ {
			next := 0
			for r := range world {
				lo, hi := EvalRange(n, r, world)
				wlo, whi := evalRangeRef(n, r, world)
				if lo != wlo || hi != whi {
					t.Fatalf("EvalRange(%d, %d, %d) = [%d, %d), want [%d, %d)", n, r, world, lo, hi, wlo, whi)
				}
				if lo != next {
					t.Fatalf("EvalRange(%d, %d, %d) starts at %d, want %d", n, r, world, lo, next)
				}
				next = hi
			}
			if next != n {
				t.Fatalf("n=%d world=%d: ranges end at %d", n, world, next)
			}
		}
	}
	for _, bad := range [][3]int{{-1, 0, 1}, {5, 0, 0}, {5, 3, 3}, {5, -1, 2}} {
		if lo, hi := EvalRange(bad[0], bad[1], bad[2]); lo != 0 || hi != 0 {
			t.Errorf("EvalRange%v = [%d, %d), want empty", bad, lo, hi)
		}
	}
	if lo, hi := EvalRange(math.MaxInt, 2, 3); hi != math.MaxInt || hi-lo != math.MaxInt/3 {
		t.Errorf("EvalRange(MaxInt, 2, 3) = [%d, %d): overflow", lo, hi)
	}
}
