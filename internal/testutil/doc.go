// Package testutil holds the helpers that tests of several packages share:
// bit-exact comparison of float32 slices, polling until a condition holds,
// the repository root (RepoRoot), a free loopback address (FreeAddr,
// FreePort), writing a file the test needs (WriteFile), and checking that a
// tree of files is its owner's alone (PrivateTree, under TypicalUmask).
// For attack tests: a connection from another loopback address (DialFrom),
// whether its peer closes it (ClosedWithin, CountClosed), and a kept-alive
// HTTP connection left quiet (KeepAlive).
// Only tests import it; production code must not.
package testutil
