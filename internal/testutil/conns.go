package testutil

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// DialFrom connects to addr over TCP from the local IP from (the port is
// the system's choice): on loopback, 127.0.0.2 stands for another host
// than 127.0.0.1. It skips the test when from cannot be bound here, and
// fails it when the connection cannot be made.
func DialFrom(t testing.TB, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Skipf("cannot dial from %s: %v", from, err)
	}
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, from, err)
	}
	return c
}

// ClosedWithin reads c, discarding what arrives, until the peer closes it
// (end of stream or reset) or d has passed, and reports whether the peer
// closed it (a connection this side closed was not). c's read deadline
// stays set.
func ClosedWithin(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 4096)
	for {
		_, err := c.Read(buf)
		switch {
		case err == nil:
			continue
		case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, net.ErrClosed):
			return false // not closed by the peer
		case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
			return true
		default:
			return true // any other read error: the connection is unusable
		}
	}
}

// CountClosed runs ClosedWithin(c, d) on every connection at once and
// returns how many the peer closed.
func CountClosed(conns []net.Conn, d time.Duration) int {
	var wg sync.WaitGroup
	var n atomic.Int64
	for _, c := range conns {
		wg.Go(func() {
			if ClosedWithin(c, d) {
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return int(n.Load())
}

// KeepAlive connects to addr from the local IP from, asks for path once
// over HTTP/1.1 and leaves the connection open and quiet, as a client
// hoarding kept-alive connections does. It reports whether the request
// was answered with 200 within d; a connection the server refused is
// closed before any answer. The connection is closed when the test ends.
func KeepAlive(t testing.TB, from, addr, path string, d time.Duration) (net.Conn, bool) {
	t.Helper()
	c := DialFrom(t, from, addr)
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(d))
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, addr); err != nil {
		return c, false
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return c, false
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	c.SetDeadline(time.Time{})
	return c, err == nil && resp.StatusCode == http.StatusOK
}
