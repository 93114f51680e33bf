//go:build !linux

package allreduce_test

// platformFabrics: transport/shm is Linux only.
var platformFabrics []fabric
