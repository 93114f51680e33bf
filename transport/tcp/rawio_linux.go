package tcp

import (
	"net"
	"syscall"
	"unsafe"
)

// The data path's system calls (read, writev, sched_yield) are made with
// syscall.RawSyscall, as a C program makes them, not with syscall.Syscall:
// Syscall tells the Go scheduler it is entering a system call, and when
// the scheduler's monitor thread (sysmon) sleeps, which it does whenever
// the process was idle, that wakes it with a futex. On a machine with more
// ranks than cores every such wake-up is a thread to schedule, and a small
// collective made a dozen of them per call (measured: docs/benchmarks.md,
// "Runs E, F and G"). Each of these calls returns at once: the
// sockets are non-blocking, and a call that would block returns EAGAIN and
// the goroutine parks in the netpoller as before.

// sysRead is read(2) on fd.
func sysRead(fd uintptr, p []byte) (int, syscall.Errno) {
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	return int(n), e
}

// yield gives the processor to another ready thread or process (sched_yield).
func yield() { syscall.RawSyscall(syscall.SYS_SCHED_YIELD, 0, 0, 0) }

// frameWriter writes a frame (header and payload) with writev(2) through
// the connection's RawConn: deadlines and Close apply as to conn.Write,
// and a full socket buffer parks the goroutine in the netpoller.
type frameWriter struct {
	raw      syscall.RawConn
	fn       func(fd uintptr) bool // w.write, bound once: no allocation per call
	hdr, pay []byte
	off      int // bytes of hdr+pay written so far
	iov      [2]syscall.Iovec
	err      error
}

func newFrameWriter(c net.Conn) *frameWriter {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	w := &frameWriter{raw: raw}
	w.fn = w.write
	return w
}

// writeFrame writes hdr then payload, whole.
func (w *frameWriter) writeFrame(hdr, payload []byte) error {
	w.hdr, w.pay, w.off, w.err = hdr, payload, 0, nil
	err := w.raw.Write(w.fn)
	w.hdr, w.pay = nil, nil
	if err != nil {
		return err
	}
	return w.err
}

func (w *frameWriter) write(fd uintptr) bool {
	total := len(w.hdr) + len(w.pay)
	for w.off < total {
		n := 0
		if w.off < len(w.hdr) {
			w.iov[n] = iovec(w.hdr[w.off:])
			n++
		}
		if len(w.pay) > 0 {
			w.iov[n] = iovec(w.pay[max(w.off-len(w.hdr), 0):])
			n++
		}
		m, _, e := syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&w.iov[0])), uintptr(n))
		switch e {
		case 0:
			w.off += int(m)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false // wait until writable
		default:
			w.err = e
			return true
		}
	}
	return true
}

func iovec(b []byte) syscall.Iovec {
	v := syscall.Iovec{Base: unsafe.SliceData(b)}
	v.SetLen(len(b))
	return v
}
