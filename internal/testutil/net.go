package testutil

import (
	"net"
	"testing"
)

// FreeAddr returns a 127.0.0.1 TCP address that was free a moment ago:
// nobody listens on it when FreeAddr returns (another process may take it
// later, as with any such port).
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free address: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// FreePort returns the port of a FreeAddr.
func FreePort(t testing.TB) int {
	t.Helper()
	addr, err := net.ResolveTCPAddr("tcp", FreeAddr(t))
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	return addr.Port
}
