package main

import (
	"testing"
	"time"
)

// The ETA counts only the steps trained in the current generation, as seen
// here: after a resume from step 1000, or a new generation that restored
// an older checkpoint, it is not computed from step 0.
func TestETA(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	type rep struct {
		gen         uint64
		step        int64
		samplesPerS float64
		at          time.Duration // after t0
		want        time.Duration // -1: unknown
	}
	for _, tc := range []struct {
		name  string
		batch int
		total int64
		reps  []rep
	}{
		{"fresh run: the first window's rate, then the mean since", 64, 1000, []rep{
			{1, 10, 640, 1 * time.Second, 99 * time.Second},  // 10 steps/s: 990 left
			{1, 20, 640, 3 * time.Second, 196 * time.Second}, // 10 steps in 2 s since step 10: 980 left at 5 steps/s
		}},
		{"resumed at step 1000 of 2000", 64, 2000, []rep{
			{7, 1010, 640, 100 * time.Second, 99 * time.Second},
			{7, 1110, 640, 110 * time.Second, 89 * time.Second}, // 100 steps in 10 s: 890 left
		}},
		{"a new generation restores step 500 after reaching 900", 32, 1000, []rep{
			{1, 800, 320, 0, 20 * time.Second},
			{1, 900, 320, 10 * time.Second, 10 * time.Second},
			{2, 510, 160, 30 * time.Second, 98 * time.Second}, // new generation: its window's 5 steps/s, 490 left
			{2, 520, 160, 31 * time.Second, 48 * time.Second}, // 10 steps in 1 s since 510: 480 left
		}},
		{"no rate yet", 64, 100, []rep{
			{1, 10, 0, 0, -1},
			{1, 10, 0, time.Second, -1},
			{1, 20, 0, 2 * time.Second, 16 * time.Second},
		}},
		{"the last step", 64, 100, []rep{
			{1, 90, 640, 0, time.Second},
			{1, 100, 640, time.Second, 0},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newETA(tc.batch)
			for i, r := range tc.reps {
				got, ok := e.update(r.gen, r.step, tc.total, r.samplesPerS, t0.Add(r.at))
				if r.want < 0 {
					if ok {
						t.Errorf("report %d: ETA %v, want unknown", i, got)
					}
					continue
				}
				if !ok || (got-r.want).Abs() > time.Millisecond {
					t.Errorf("report %d (step %d): ETA %v (known: %v), want %v", i, r.step, got, ok, r.want)
				}
			}
		})
	}
}
