//go:build !linux

package tcp

import (
	"net"
	"runtime"
	"syscall"
)

func sysRead(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Read(int(fd), p)
	if e, ok := err.(syscall.Errno); ok {
		return n, e
	}
	return n, 0
}

func yield() { runtime.Gosched() }

// frameWriter is Linux's raw writev; elsewhere frames go through
// net.Buffers (newFrameWriter returns nil).
type frameWriter struct{}

func newFrameWriter(net.Conn) *frameWriter { return nil }

func (w *frameWriter) writeFrame(hdr, payload []byte) error { panic("unreachable") }
