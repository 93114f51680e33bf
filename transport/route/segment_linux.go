//go:build linux

package route

import (
	"fmt"
	"os"

	"github.com/ringtrain/ringtrain/transport/shm"
)

// segment is a leader's freshly created group segment: its descriptor
// (open until every member had its chance to open it) and the leader's own
// attachment.
type segment struct {
	seg       *shm.Segment
	transport closer
	pid, fd   int
}

func createGroup(gen uint64, n int, key [keyBytes]byte, opts Options) (segment, error) {
	seg, err := shm.Create(shm.Spec{Generation: gen, Size: n, RingBytes: opts.RingBytes, Key: key})
	if err != nil {
		return segment{}, fmt.Errorf("create the shared segment: %w", err)
	}
	tr, err := shm.Attach(seg.File(), gen, 0, shm.Config{IOTimeout: opts.IOTimeout, Logger: opts.Logger, Key: key})
	if err != nil {
		seg.Close()
		return segment{}, fmt.Errorf("attach to the shared segment: %w", err)
	}
	return segment{seg: seg, transport: tr, pid: os.Getpid(), fd: int(seg.File().Fd())}, nil
}

func closeSegment(s segment) {
	if s.seg != nil {
		s.seg.Close()
	}
}

// attachGroup opens the leader's segment through /proc and attaches as
// group rank local.
func attachGroup(pid, fd int, gen uint64, local int, key [keyBytes]byte, opts Options) (closer, error) {
	path := fmt.Sprintf("/proc/%d/fd/%d", pid, fd)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open the shared segment: %w", err)
	}
	defer f.Close()
	tr, err := shm.Attach(f, gen, local, shm.Config{IOTimeout: opts.IOTimeout, Logger: opts.Logger, Key: key})
	if err != nil {
		return nil, fmt.Errorf("attach to the shared segment at %s: %w", path, err)
	}
	return tr, nil
}
