//go:build linux

package shm

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// peerWatch tells whether a peer rank is still there: its slot state
// (Abort and Close mark it gone) and, for a peer in another process, a
// pidfd that becomes readable when that process exits (killed included).
type peerWatch struct {
	mem  []byte
	rank int

	mu    sync.Mutex
	pid   uint32
	pidfd int  // valid when tried; -1 when none is open
	tried bool // the pid was read and, for another process, a pidfd opened
}

var errPeerGone = errors.New("peer marked itself gone")

func (p *peerWatch) gone() error {
	if slotState(p.mem, p.rank).Load() == slotGone {
		return errPeerGone
	}
	return nil
}

// alive checks the peer's process (the slower check).
func (p *peerWatch) alive() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.tried {
		pid := slotPid(p.mem, p.rank).Load()
		if pid == 0 {
			return nil // not attached yet
		}
		p.tried, p.pid, p.pidfd = true, pid, -1
		if int(pid) == os.Getpid() {
			return nil // same process: its slot state says it all
		}
		fd, err := unix.PidfdOpen(int(pid), 0)
		if err != nil {
			return fmt.Errorf("peer process %d: %w", pid, err)
		}
		p.pidfd = fd
	}
	if p.pidfd < 0 {
		return nil
	}
	fds := []unix.PollFd{{Fd: int32(p.pidfd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	if err != nil && !errors.Is(err, unix.EINTR) {
		return fmt.Errorf("peer process %d: poll pidfd: %w", p.pid, err)
	}
	if n > 0 {
		return fmt.Errorf("peer process %d exited", p.pid)
	}
	return nil
}

func (p *peerWatch) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tried && p.pidfd >= 0 {
		_ = unix.Close(p.pidfd)
		p.pidfd = -1
	}
}
