package model

import "sync"

// buildMu serializes graph construction. gorgonia keeps process-wide
// counters for node groups and ids (internal/encoding.NewGroup and the
// node id counter), so two goroutines building graphs at once race. It is
// the one piece of package state here and exists only to guard that of the
// dependency; running built graphs concurrently is unaffected.
var buildMu sync.Mutex

// guardBuild is guard for graph construction, under buildMu.
func guardBuild(what string, f func() error) error {
	buildMu.Lock()
	defer buildMu.Unlock()
	return guard(what, f)
}
