// Package testutil holds the helpers that tests of several packages share:
// bit-exact comparison of float32 slices, polling until a condition holds,
// the repository root (RepoRoot), a free loopback address (FreeAddr,
// FreePort), and writing a file the test needs (WriteFile).
// Only tests import it; production code must not.
package testutil
