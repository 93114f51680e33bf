//go:build linux && race

package shm

import (
	"fmt"
	"syscall"
)

// The race detector cannot see the happens-before edges that the atomics on
// the shared mapping create (it tracks only Go memory), so in race builds
// every publish and every observed publish also goes through the syscall
// package's I/O annotation, as data through a socket does: a write releases,
// a successful read acquires. Comm relies on that causality (a peer's frame
// cannot arrive before the frame it answers was sent).
type raceSync struct{ fd int }

func newRaceSync() (raceSync, error) {
	fd, err := syscall.Open("/dev/null", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return raceSync{}, fmt.Errorf("shm: race build: open /dev/null: %w", err)
	}
	return raceSync{fd: fd}, nil
}

func (r raceSync) release() { _, _ = syscall.Write(-1, nil) }

func (r raceSync) acquire() { _, _ = syscall.Read(r.fd, nil) }

func (r raceSync) close() { _ = syscall.Close(r.fd) }
