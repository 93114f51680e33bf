package tcp

import (
	"net"
	"syscall"
)

// sendBufferBytes is the payload a connection's kernel send buffer holds
// for certain: Linux reports SO_SNDBUF doubled (the other half pays for its
// bookkeeping), so half of what getsockopt says. 0 when it cannot tell.
func sendBufferBytes(tc *net.TCPConn) int {
	raw, err := tc.SyscallConn()
	if err != nil {
		return 0
	}
	var v int
	var gerr error
	if err := raw.Control(func(fd uintptr) {
		v, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF)
	}); err != nil || gerr != nil {
		return 0
	}
	return v / 2
}
