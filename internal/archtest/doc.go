// Package archtest holds no code: its test checks that docs/architecture.md's
// table of packages and their imports of ours says what `go list` says, and
// that imports keep flowing one way (the rules of the design brief), so the
// page cannot drift from the code.
package archtest
