package testutil

import (
	"net"
	"testing"
	"time"
)

// DialFrom's connection comes from the address asked for, and
// ClosedWithin tells a connection the peer closed from one it holds.
func TestDialFromAndClosedWithin(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	remotes := make(chan net.Conn, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			remotes <- c
		}
	}()
	held := DialFrom(t, "127.0.0.2", ln.Addr().String())
	defer held.Close()
	server := <-remotes
	defer server.Close()
	if got := server.RemoteAddr().(*net.TCPAddr).IP.String(); got != "127.0.0.2" {
		t.Fatalf("the server sees %s, want 127.0.0.2", got)
	}
	closed := DialFrom(t, "127.0.0.1", ln.Addr().String())
	defer closed.Close()
	(<-remotes).Close()

	for _, tc := range []struct {
		name string
		c    net.Conn
		want bool
	}{
		{"the server holds it", held, false},
		{"the server closed it", closed, true},
	} {
		if got := ClosedWithin(tc.c, 300*time.Millisecond); got != tc.want {
			t.Errorf("%s: ClosedWithin = %v, want %v", tc.name, got, tc.want)
		}
	}
	if n := CountClosed([]net.Conn{held, closed}, 300*time.Millisecond); n != 1 {
		t.Errorf("CountClosed = %d, want 1", n)
	}
	server.Write([]byte("data is read and discarded"))
	if ClosedWithin(held, 300*time.Millisecond) {
		t.Error("data from the server read as a close")
	}
	held.Close()
	if ClosedWithin(held, 300*time.Millisecond) {
		t.Error("a connection closed on this side read as closed by the peer")
	}
}
