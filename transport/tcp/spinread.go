package tcp

import (
	"io"
	"net"
	"syscall"
	"time"
)

// spinReader reads from a TCP connection, and when no data is there yet it
// first yields the CPU for up to spin before parking the goroutine in Go's
// netpoller. A small all-reduce step is a write and then a read that usually
// waits only tens of microseconds; parking costs an epoll wake-up, a futex
// and a thread hand-off each time, which dominated small collectives. Yielding
// (sched_yield) rather than busy-spinning lets the peer process run on an
// oversubscribed machine. Only small frames (spinMaxBytes) spin: for large
// ones the wait is long anyway and yielding steals CPU from the sender
// goroutine and the kernel's copies (measured: slower at 64 KiB+ on 4 ranks
// over 2 cores). Deadlines and Close still apply: RawConn.Read
// honours them once the read parks.
type spinReader struct {
	raw  syscall.RawConn
	spin time.Duration
	on   bool                  // set per frame by Recv: spin only for small frames
	fn   func(fd uintptr) bool // r.read, bound once: no allocation per call
	p    []byte
	n    int
	err  error
}

func newSpinReader(c net.Conn, spin time.Duration) (*spinReader, bool) {
	tc, ok := c.(*net.TCPConn)
	if !ok || spin <= 0 {
		return nil, false
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return nil, false
	}
	r := &spinReader{raw: raw, spin: spin}
	r.fn = r.read
	return r, true
}

func (r *spinReader) read(fd uintptr) bool {
	var start time.Time
	for {
		n, err := sysRead(fd, r.p)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			if !r.on {
				return false
			}
			if start.IsZero() {
				start = time.Now()
			} else if time.Since(start) > r.spin {
				return false // park until readable
			}
			yield()
			continue
		case err != 0:
			r.n, r.err = 0, err
		case n == 0:
			r.n, r.err = 0, io.EOF
		default:
			r.n, r.err = n, nil
		}
		return true
	}
}

// Read implements io.Reader.
func (r *spinReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.p = p
	if err := r.raw.Read(r.fn); err != nil {
		r.p = nil
		return 0, err
	}
	r.p = nil
	return r.n, r.err
}

// spinMaxBytes: frames up to this size spin before parking.
const spinMaxBytes = 16 << 10
