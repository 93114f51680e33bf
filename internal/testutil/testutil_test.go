package testutil

import (
	"math"
	"sync/atomic"
	"testing"
	"time"
)

func TestFirstBitDiff(t *testing.T) {
	nan := float32(math.NaN())
	otherNaN := math.Float32frombits(math.Float32bits(nan) ^ 1)
	negZero := float32(math.Copysign(0, -1))
	for _, tc := range []struct {
		name string
		a, b []float32
		want int
	}{
		{"both empty", nil, []float32{}, -1},
		{"equal", []float32{1, 2, 3}, []float32{1, 2, 3}, -1},
		{"last differs", []float32{1, 2, 3}, []float32{1, 2, 4}, 2},
		{"same NaN", []float32{nan}, []float32{nan}, -1},
		{"other NaN payload", []float32{nan}, []float32{otherNaN}, 0},
		{"signed zero", []float32{0}, []float32{negZero}, 0},
		{"prefix", []float32{1, 2}, []float32{1, 2, 3}, 2},
		{"longer first", []float32{1, 2, 3}, []float32{1}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := FirstBitDiff(tc.a, tc.b); got != tc.want {
				t.Fatalf("FirstBitDiff = %d, want %d", got, tc.want)
			}
			if got := BitsEqual(tc.a, tc.b); got != (tc.want < 0) {
				t.Fatalf("BitsEqual = %v, want %v", got, tc.want < 0)
			}
		})
	}
}

// recorder is a testing.TB that records a Fatalf instead of stopping.
type recorder struct {
	testing.TB
	failed atomic.Bool
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(string, ...any) {
	r.failed.Store(true)
	panic(r) // stop the helper as t.Fatalf would (runtime.Goexit), caught below
}

func fails(f func(testing.TB)) (failed bool) {
	r := &recorder{TB: nil}
	defer func() {
		if p := recover(); p != nil && p != any(r) {
			panic(p)
		}
		failed = r.failed.Load()
	}()
	f(r)
	return false
}

func TestRequireBitsEqual(t *testing.T) {
	if fails(func(tb testing.TB) { RequireBitsEqual(tb, "x", []float32{1, 2}, []float32{1, 2}) }) {
		t.Fatal("identical slices reported as different")
	}
	if !fails(func(tb testing.TB) { RequireBitsEqual(tb, "x", []float32{1, 2}, []float32{1, 3}) }) {
		t.Fatal("different slices not reported")
	}
	if !fails(func(tb testing.TB) { RequireBitsEqual(tb, "x", []float32{1}, []float32{1, 3}) }) {
		t.Fatal("different lengths not reported")
	}
}

func TestEventually(t *testing.T) {
	start := time.Now()
	n := 0
	Eventually(t, time.Second, "third call", func() bool { n++; return n == 3 })
	if n != 3 {
		t.Fatalf("cond called %d times, want 3", n)
	}
	if !fails(func(tb testing.TB) { Eventually(tb, 30*time.Millisecond, "never", func() bool { return false }) }) {
		t.Fatal("a condition that never holds did not fail")
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("Eventually took far longer than its timeouts")
	}
}
