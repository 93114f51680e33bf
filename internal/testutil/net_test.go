package testutil

import (
	"net"
	"strconv"
	"testing"
)

// FreeAddr's address is on loopback, has a port, and can be listened on.
func TestFreeAddr(t *testing.T) {
	addr := FreeAddr(t)
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "127.0.0.1" || port == "0" {
		t.Fatalf("FreeAddr = %q (%v), want 127.0.0.1:PORT", addr, err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on FreeAddr's %s: %v", addr, err)
	}
	l.Close()
	if p := FreePort(t); p <= 0 || p > 65535 {
		t.Fatalf("FreePort = %d", p)
	}
}

// Where the kernel's ephemeral range is known, FreeAddr's ports lie below
// it, free for UDP too; without it the kernel's pick is taken.
func TestFreeAddrBelowEphemeral(t *testing.T) {
	low := ephemeralLow()
	if low == 0 {
		t.Skip("no ephemeral port range to read here")
	}
	for range 20 {
		_, port, _ := net.SplitHostPort(FreeAddr(t))
		p, _ := strconv.Atoi(port)
		if p < minPort || p >= low {
			t.Fatalf("FreeAddr port %d, want in [%d, %d)", p, minPort, low)
		}
		u, err := net.ListenPacket("udp", "127.0.0.1:"+port)
		if err != nil {
			t.Fatalf("UDP on FreeAddr's port %s: %v", port, err)
		}
		u.Close()
	}
	if addr, err := freeAddr(0); err != nil || addr == "" {
		t.Fatalf("freeAddr(0) = %q, %v", addr, err)
	}
}
