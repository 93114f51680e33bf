package testutil

import (
	"math"
	"testing"
)

// FirstBitDiff returns the first index at which a and b differ bit for bit
// (NaNs compare by their bits, -0 differs from +0), len of the shorter one
// when one is a prefix of the other and the lengths differ, or -1 when they
// are identical.
func FirstBitDiff(a, b []float32) int {
	n := min(len(a), len(b))
	for i := range n {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	if len(a) != len(b) {
		return n
	}
	return -1
}

// BitsEqual reports whether a and b are identical bit for bit.
func BitsEqual(a, b []float32) bool { return FirstBitDiff(a, b) < 0 }

// RequireBitsEqual fails the test, naming what and the first differing
// element, unless got and want are identical bit for bit.
func RequireBitsEqual(t testing.TB, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: length %d, want %d", what, len(got), len(want))
	}
	if i := FirstBitDiff(got, want); i >= 0 {
		t.Fatalf("%s[%d] = %v (%#x), want %v (%#x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
	}
}
