// Package archtest holds no code: its tests check that docs/architecture.md's
// table of packages and their imports of ours says what `go list` says (so
// the page cannot drift from the code), that imports keep flowing one way
// (the rules of the design brief), and that only tests import the test-only
// packages (internal/testutil, internal/testcluster, internal/imagetree).
package archtest
