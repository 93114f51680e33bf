// Package testcluster starts the parts of a cluster that tests of several
// packages need, for real and in this process: a coordinator (its gRPC
// server on loopback, plaintext; its memberlist node; a checkpoint store on
// disk in the test's temporary directory), control-plane clients dialed with
// the cluster's token, and workers joined to a running generation.
//
// It is for tests only: production code must not import it (the
// internal/archtest test checks that). It may import coordinator, control,
// checkpoint and job; the coordinator's own tests cannot use it (it imports
// their package) and keep their own helpers.
package testcluster
