package data

import (
	"slices"
	"strings"
	"testing"
)

func mustWindowSampler(t testing.TB, n, context, batch int, seed uint64) *WindowSampler {
	t.Helper()
	s, err := NewWindowSampler(n, context, batch, seed)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustStarts(t testing.TB, s *WindowSampler, step int64, rank, world int) []int {
	t.Helper()
	p, err := s.Starts(step, rank, world, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNewWindowSamplerErrors(t *testing.T) {
	for _, tc := range []struct {
		name              string
		n, context, batch int
		want              string
	}{
		{"context 0", 100, 0, 4, "context 0 over a text of 100 tokens: want 1 <= context <= 99"},
		{"negative context", 100, -3, 4, "context -3 over a text of 100 tokens"},
		{"context = length", 100, 100, 4, "context 100 over a text of 100 tokens: want 1 <= context <= 99"},
		{"context too long", 1115, 2048, 4, "context 2048 over a text of 1115 tokens"},
		{"empty text", 0, 1, 4, "context 1 over a text of 0 tokens"},
		{"batch 0", 100, 8, 0, "global batch 0: want >= 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewWindowSampler(tc.n, tc.context, tc.batch, 1)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if s != nil {
				t.Error("non-nil sampler with an error")
			}
		})
	}
	s := mustWindowSampler(t, 2, 1, 3, 0) // the smallest text: one window
	if s.Positions() != 1 || s.Context() != 1 || s.GlobalBatch() != 3 {
		t.Errorf("Positions %d Context %d GlobalBatch %d, want 1 1 3", s.Positions(), s.Context(), s.GlobalBatch())
	}
	if got := mustStarts(t, s, 5, 0, 1); !slices.Equal(got, []int{0, 0, 0}) {
		t.Errorf("starts %v, want [0 0 0]", got)
	}
}

func TestStartsErrors(t *testing.T) {
	s := mustWindowSampler(t, 1000, 16, 12, 1)
	for _, tc := range []struct {
		name        string
		step        int64
		rank, world int
		want        string
	}{
		{"world does not divide", 0, 0, 5, "world size 5 does not divide the global batch 12"},
		{"world larger than batch", 0, 0, 24, "world size 24 does not divide"},
		{"world 0", 0, 0, 0, "world size 0"},
		{"negative world", 0, 0, -4, "world size -4"},
		{"rank = world", 0, 4, 4, "rank 4: want [0, 4)"},
		{"negative rank", 0, -1, 4, "rank -1: want [0, 4)"},
		{"negative step", -1, 0, 1, "step -1: want >= 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := s.Starts(tc.step, tc.rank, tc.world, []int{7, 7})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if len(out) != 0 {
				t.Errorf("starts %v with an error", out)
			}
		})
	}
}

// TestStartsGolden pins the starts of a few steps: they must not change
// with the Go release or a refactoring, or resumed runs would see other
// data.
func TestStartsGolden(t *testing.T) {
	s := mustWindowSampler(t, 1003854, 256, 8, 1337)
	for _, tc := range []struct {
		step int64
		want []int
	}{
		{0, []int{238468, 417699, 74488, 661320, 303774, 876357, 811878, 822199}},
		{1, []int{73593, 989066, 432462, 991189, 862502, 51234, 632260, 846672}},
		{1 << 40, []int{807055, 671562, 949775, 3369, 34718, 582108, 905610, 51554}},
	} {
		if got := mustStarts(t, s, tc.step, 0, 1); !slices.Equal(got, tc.want) {
			t.Errorf("step %d: starts %v, want %v", tc.step, got, tc.want)
		}
	}
}

// TestStartsDeterminism: the same (seed, step) gives the same starts in any
// sampler and any call order; another step or seed gives other ones.
func TestStartsDeterminism(t *testing.T) {
	const n, context, batch = 100000, 64, 16
	a := mustWindowSampler(t, n, context, batch, 42)
	inOrder := make([][]int, 30)
	for step := range inOrder {
		inOrder[step] = mustStarts(t, a, int64(step), 0, 1)
	}
	// A resumed run: a fresh sampler asked for the steps backwards, and
	// each step twice.
	b := mustWindowSampler(t, n, context, batch, 42)
	for step := len(inOrder) - 1; step >= 0; step-- {
		for range 2 {
			if got := mustStarts(t, b, int64(step), 0, 1); !slices.Equal(got, inOrder[step]) {
				t.Fatalf("step %d: resumed %v, in order %v", step, got, inOrder[step])
			}
		}
	}
	for step := 1; step < len(inOrder); step++ {
		if slices.Equal(inOrder[step], inOrder[step-1]) {
			t.Errorf("steps %d and %d have the same starts %v", step-1, step, inOrder[step])
		}
	}
	other := mustWindowSampler(t, n, context, batch, 43)
	for step := range inOrder {
		if slices.Equal(mustStarts(t, other, int64(step), 0, 1), inOrder[step]) {
			t.Errorf("seeds 42 and 43 give the same starts at step %d", step)
		}
	}
}

// TestStartsRanksPartition: the rank batches of a step, concatenated in
// rank order, are the world-size-1 batch, for every world dividing B, and
// out's storage is reused.
func TestStartsRanksPartition(t *testing.T) {
	const batch = 24
	s := mustWindowSampler(t, 5000, 32, batch, 9)
	buf := make([]int, 0, batch)
	for _, step := range []int64{0, 3, 1 << 33} {
		whole := mustStarts(t, s, step, 0, 1)
		for _, world := range []int{1, 2, 3, 4, 6, 8, 12, 24} {
			var joined []int
			for r := range world {
				part, err := s.Starts(step, r, world, buf)
				if err != nil {
					t.Fatal(err)
				}
				if len(part) != batch/world || &part[0] != &buf[:1][0] {
					t.Fatalf("world %d rank %d: %d starts (want %d), or out not reused", world, r, len(part), batch/world)
				}
				joined = append(joined, part...)
			}
			if !slices.Equal(joined, whole) {
				t.Errorf("step %d world %d: ranks give %v, world 1 gives %v", step, world, joined, whole)
			}
		}
	}
}

// TestStartsRangeAndSpread: every start is a valid window start, and all
// positions come up about equally often.
func TestStartsRangeAndSpread(t *testing.T) {
	const n, context, batch, steps = 26, 16, 50, 400
	s := mustWindowSampler(t, n, context, batch, 5)
	count := make([]int, s.Positions())
	for step := range int64(steps) {
		for _, p := range mustStarts(t, s, step, 0, 1) {
			if p < 0 || p >= s.Positions() {
				t.Fatalf("step %d: start %d outside [0, %d)", step, p, s.Positions())
			}
			count[p]++
		}
	}
	// 20,000 draws over 10 positions: 2,000 each, standard deviation 42.
	for p, c := range count {
		if c < 1800 || c > 2200 {
			t.Errorf("position %d drawn %d times, want about 2000 (all: %v)", p, c, count)
		}
	}
}

func TestWindow(t *testing.T) {
	tokens := []uint16{10, 11, 12, 13, 14, 15}
	for _, tc := range []struct {
		start, context int
		x, y           []int32
	}{
		{0, 1, []int32{10}, []int32{11}},
		{0, 5, []int32{10, 11, 12, 13, 14}, []int32{11, 12, 13, 14, 15}},
		{2, 3, []int32{12, 13, 14}, []int32{13, 14, 15}},
		{4, 1, []int32{14}, []int32{15}},
	} {
		x, y := make([]int32, tc.context), make([]int32, tc.context)
		if err := Window(tokens, tc.start, x, y); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(x, tc.x) || !slices.Equal(y, tc.y) {
			t.Errorf("start %d context %d: x %v y %v, want %v %v", tc.start, tc.context, x, y, tc.x, tc.y)
		}
	}
	for _, tc := range []struct {
		name      string
		start     int
		nx, ny    int
		want      string
		nilTokens bool
	}{
		{name: "past the end", start: 3, nx: 3, ny: 3, want: "start 3 with context 3 over 6 tokens: want 0 <= start <= 2"},
		{name: "negative start", start: -1, nx: 2, ny: 2, want: "start -1"},
		{name: "no room for the target", start: 0, nx: 6, ny: 6, want: "start 0 with context 6 over 6 tokens: want 0 <= start <= -1"},
		{name: "lengths differ", start: 0, nx: 2, ny: 3, want: "2 inputs and 3 targets"},
		{name: "empty", start: 0, nx: 0, ny: 0, want: "0 inputs and 0 targets"},
		{name: "no tokens", start: 0, nx: 1, ny: 1, nilTokens: true, want: "over 0 tokens"},
	} {
		toks := tokens
		if tc.nilTokens {
			toks = nil
		}
		err := Window(toks, tc.start, make([]int32, tc.nx), make([]int32, tc.ny))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "data: window: ") {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// TestWindowsTargetsShiftedInputs: on a real text, each window's targets
// are its inputs shifted by one, and Windows lays the windows of a batch
// one after the other.
func TestWindowsTargetsShiftedInputs(t *testing.T) {
	txt := mustReadText(t, strings.Repeat("the quick brown fox jumps over the lazy dog. ", 20))
	const context, batch = 32, 6
	s := mustWindowSampler(t, len(txt.Train), context, batch, 3)
	starts := mustStarts(t, s, 7, 0, 1)
	x, y := make([]int32, batch*context), make([]int32, batch*context)
	if err := Windows(txt.Train, starts, context, x, y); err != nil {
		t.Fatal(err)
	}
	for i, p := range starts {
		xi, yi := x[i*context:(i+1)*context], y[i*context:(i+1)*context]
		if !slices.Equal(xi[1:], yi[:context-1]) {
			t.Errorf("window %d: targets %v are not inputs %v shifted by one", i, yi, xi)
		}
		for j := range context {
			if xi[j] != int32(txt.Train[p+j]) || yi[j] != int32(txt.Train[p+j+1]) {
				t.Fatalf("window %d (start %d) position %d: x %d y %d, want %d %d", i, p, j, xi[j], yi[j], txt.Train[p+j], txt.Train[p+j+1])
			}
		}
	}
	for _, tc := range []struct {
		name    string
		starts  []int
		context int
		nx, ny  int
		want    string
	}{
		{"short x", []int{0, 1}, 4, 7, 8, "2 starts of context 4: want 8 inputs and targets, got 7 and 8"},
		{"short y", []int{0, 1}, 4, 8, 7, "got 8 and 7"},
		{"context 0", []int{0}, 0, 0, 0, "context 0"},
		{"bad start", []int{0, len(txt.Train) - 4}, 4, 8, 8, "window 1: start"},
	} {
		err := Windows(txt.Train, tc.starts, tc.context, make([]int32, tc.nx), make([]int32, tc.ny))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func TestEvalStarts(t *testing.T) {
	for _, tc := range []struct {
		n, context, count int
		want              []int
	}{
		{11, 5, 2, []int{0, 5}},               // exactly tiles the 10 targets
		{11, 5, 1, []int{0}},                  // one window
		{11, 5, 3, []int{0, 2, 5}},            // overlapping: 3*5 > 10
		{11, 5, 100, []int{0, 1, 2, 3, 4, 5}}, // capped at the 6 possible starts
		{2, 1, 4, []int{0}},
		{101, 10, 10, []int{0, 10, 20, 30, 40, 50, 60, 70, 80, 90}},
		{111540, 256, 4, []int{0, 37094, 74188, 111283}},
	} {
		got, err := EvalStarts(tc.n, tc.context, tc.count)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("EvalStarts(%d, %d, %d) = %v, want %v", tc.n, tc.context, tc.count, got, tc.want)
		}
	}
	for _, tc := range []struct {
		n, context, count int
		want              string
	}{
		{10, 0, 1, "context 0 over a text of 10 tokens: want 1 <= context <= 9"},
		{10, 10, 1, "context 10 over a text of 10 tokens"},
		{0, 1, 1, "context 1 over a text of 0 tokens"},
		{10, 2, 0, "count 0: want >= 1"},
		{10, 2, -1, "count -1"},
	} {
		got, err := EvalStarts(tc.n, tc.context, tc.count)
		if err == nil || !strings.Contains(err.Error(), tc.want) || got != nil {
			t.Errorf("EvalStarts(%d, %d, %d) = %v, %v; want an error containing %q", tc.n, tc.context, tc.count, got, err, tc.want)
		}
	}
}

// TestEvalStartsProperties: starts are strictly increasing from 0 to the
// last possible start, and windows do not overlap when they fit.
func TestEvalStartsProperties(t *testing.T) {
	for n := 2; n <= 60; n++ {
		for context := 1; context < n; context++ {
			for count := 1; count <= n+1; count++ {
				starts, err := EvalStarts(n, context, count)
				if err != nil {
					t.Fatal(err)
				}
				p := n - context
				if len(starts) != min(count, p) || starts[0] != 0 || (len(starts) > 1 && starts[len(starts)-1] != p-1) {
					t.Fatalf("EvalStarts(%d, %d, %d) = %v", n, context, count, starts)
				}
				for i := 1; i < len(starts); i++ {
					gap := starts[i] - starts[i-1]
					if gap < 1 || (count*context <= n-1 && gap < context) {
						t.Fatalf("EvalStarts(%d, %d, %d) = %v: gap %d", n, context, count, starts, gap)
					}
				}
			}
		}
	}
}

// TestShardEval: for worlds 1..7, the rank shares cover the starts exactly
// once, in order, with sizes differing by at most one.
func TestShardEval(t *testing.T) {
	for count := 0; count <= 20; count++ {
		starts := make([]int, count)
		for i := range starts {
			starts[i] = 100 + 3*i
		}
		for world := 1; world <= 7; world++ {
			var joined []int
			lo, hi := count, 0
			for r := range world {
				share := ShardEval(starts, r, world)
				lo, hi = min(lo, len(share)), max(hi, len(share))
				joined = append(joined, share...)
			}
			if !slices.Equal(joined, starts) {
				t.Errorf("count %d world %d: shares join to %v, want %v", count, world, joined, starts)
			}
			if hi-lo > 1 {
				t.Errorf("count %d world %d: share sizes from %d to %d", count, world, lo, hi)
			}
		}
	}
	starts := []int{1, 2, 3}
	for _, tc := range []struct{ rank, world int }{{-1, 2}, {2, 2}, {0, 0}, {0, -1}} {
		if got := ShardEval(starts, tc.rank, tc.world); len(got) != 0 {
			t.Errorf("ShardEval(rank %d, world %d) = %v, want empty", tc.rank, tc.world, got)
		}
	}
	// A share cannot grow into the next one.
	share := ShardEval(starts, 0, 2)
	_ = append(share, 99)
	if starts[len(share)] == 99 {
		t.Error("appending to rank 0's share overwrote rank 1's")
	}
}
