// Package testutil holds the helpers that tests of several packages share:
// bit-exact comparison of float32 slices and polling until a condition holds.
// Only tests import it; production code must not.
package testutil
