//go:build linux

package bench

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/ringtrain/ringtrain/transport/shm"
)

// shmSegment creates the shared segment of a world of ranks: the file the
// ranks inherit (as fd 3) and its closer (the ranks hold their own copies
// once started).
func shmSegment(world int) (*os.File, func() error, error) {
	seg, err := shm.Create(shm.Spec{Generation: 1, Size: world})
	if err != nil {
		return nil, nil, err
	}
	return seg.File(), seg.Close, nil
}

// attachShm attaches a rank to the segment its parent passed as fd 3.
func attachShm(p *plan) (rankTransport, error) {
	f := os.NewFile(3, "shm-segment")
	if f == nil {
		return nil, errors.New("bench worker: transport shm: no segment on fd 3")
	}
	defer f.Close()
	t, err := shm.Attach(f, 1, p.Rank, shm.Config{IOTimeout: 60 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("bench worker rank %d: %w", p.Rank, err)
	}
	return t, nil
}
