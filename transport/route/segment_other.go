//go:build !linux

package route

import "errors"

type segment struct {
	transport closer
	pid, fd   int
}

var errNoShm = errors.New("shared memory needs Linux")

func createGroup(uint64, int, [keyBytes]byte, Options) (segment, error) { return segment{}, errNoShm }

func closeSegment(segment) {}

func attachGroup(int, int, uint64, int, [keyBytes]byte, Options) (closer, error) {
	return nil, errNoShm
}
