package testutil

import (
	"io"
	"net"
	"net/http"
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

// KeepAlive is answered by a server that answers, and not by one that
// closes the connection; the answered connection stays open.
func TestKeepAlive(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	srv := &http.Server{Handler: mux}
	done := make(chan struct{})
	go func() { srv.Serve(ln); close(done) }()
	defer func() { srv.Close(); <-done }()

	c, ok := KeepAlive(t, "127.0.0.2", ln.Addr().String(), "/ok", 5*time.Second)
	if !ok {
		t.Fatal("/ok not answered")
	}
	if ClosedWithin(c, 300*time.Millisecond) {
		t.Fatal("the kept-alive connection was closed")
	}
	if _, ok := KeepAlive(t, "127.0.0.2", ln.Addr().String(), "/missing", 5*time.Second); ok {
		t.Fatal("a 404 counted as answered")
	}
	closing, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer closing.Close()
	go func() {
		for {
			c, err := closing.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if _, ok := KeepAlive(t, "127.0.0.2", closing.Addr().String(), "/ok", 5*time.Second); ok {
		t.Fatal("a closed connection counted as answered")
	}
}
