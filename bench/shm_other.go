//go:build !linux

package bench

import (
	"errors"
	"os"
)

// errNoShm: transport/shm (memfd, futex, pidfd) is Linux only.
var errNoShm = errors.New("bench: transport shm needs Linux (memfd, futex and pidfd)")

func shmSegment(int) (*os.File, func() error, error) { return nil, nil, errNoShm }

func attachShm(*plan) (rankTransport, error) { return nil, errNoShm }
