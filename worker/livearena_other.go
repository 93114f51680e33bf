//go:build !linux

package worker

func createArena(int) (*liveArena, error) { return nil, errNoArena }

func attachArena(int, int, [16]byte) (*liveArena, error) { return nil, errNoArena }
