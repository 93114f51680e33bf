package tcp

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// relay is a man in the middle on loopback: the dialing rank is given its
// address instead of the acceptor's, and it forwards every byte both ways.
// Once armed it flips the bits of mask in the byte at offset flipAt of what
// it forwards afterwards in one direction (toDialer: acceptor → dialer).
// Arm it only when no bytes are in flight (after Connect returned on both
// sides): then offset 0 is the first byte of the first frame.
type relay struct {
	ln       net.Listener
	target   string
	toDialer bool
	flipAt   int64
	mask     byte

	armed   atomic.Bool
	flipped atomic.Bool

	mu     sync.Mutex
	closed bool
	conns  []net.Conn
	wg     sync.WaitGroup
}

// startRelay listens on 127.0.0.1 and relays one connection to target. The
// test's cleanup closes everything and waits for the relay's goroutines.
func startRelay(t *testing.T, target string, toDialer bool, flipAt int64, mask byte) *relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{ln: ln, target: target, toDialer: toDialer, flipAt: flipAt, mask: mask}
	r.wg.Go(r.serve)
	t.Cleanup(r.close)
	return r
}

func (r *relay) addr() string { return r.ln.Addr().String() }

func (r *relay) serve() {
	dialer, err := r.ln.Accept()
	if err != nil {
		return
	}
	acceptor, err := net.Dial("tcp", r.target)
	if !r.track(dialer, acceptor) || err != nil {
		dialer.Close()
		return
	}
	r.wg.Go(func() { r.pipe(acceptor, dialer, !r.toDialer) })
	r.wg.Go(func() { r.pipe(dialer, acceptor, r.toDialer) })
}

// track records the relay's connections for close; false once closed.
func (r *relay) track(cs ...net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		for _, c := range cs {
			if c != nil {
				c.Close()
			}
		}
		return false
	}
	for _, c := range cs {
		if c != nil {
			r.conns = append(r.conns, c)
		}
	}
	return true
}

// pipe copies src to dst, corrupting one byte if corrupt and armed.
func (r *relay) pipe(dst, src net.Conn, corrupt bool) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	var pos int64 // bytes forwarded since arming
	for {
		n, err := src.Read(buf)
		if n > 0 && corrupt && r.armed.Load() {
			if off := r.flipAt - pos; off >= 0 && off < int64(n) {
				buf[off] ^= r.mask
				r.flipped.Store(true)
			}
			pos += int64(n)
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (r *relay) close() {
	r.mu.Lock()
	r.closed = true
	r.ln.Close()
	for _, c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}
