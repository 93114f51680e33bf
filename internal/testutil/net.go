package testutil

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"testing"
)

// FreeAddr returns a 127.0.0.1 address whose port was free a moment ago,
// for TCP and for UDP (memberlist binds both): nobody listens on it when
// FreeAddr returns.
//
// The port comes from below the kernel's ephemeral range where that range
// can be read (Linux). A port from the range, which the kernel hands out
// for ":0", is also handed out as the local port of outgoing connections:
// a test that restarts a server on its fixed port, with clients still
// dialing it, saw its port taken by such a connection in the meantime.
// Below the range only another FreeAddr caller can take it.
func FreeAddr(t testing.TB) string {
	t.Helper()
	addr, err := freeAddr(ephemeralLow())
	if err != nil {
		t.Fatalf("free address: %v", err)
	}
	return addr
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

// minPort is the lowest port freeAddr picks: above the well-known and
// most registered services' ports.
const minPort = 10000

// ephemeralLow is the first port of the kernel's ephemeral range, 0 where
// it cannot be read or leaves too few ports below it.
func ephemeralLow() int {
	text, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	var low, high int
	if _, err := fmt.Sscan(string(text), &low, &high); err != nil || low < minPort+1000 {
		return 0
	}
	return low
}

// freeAddr tries random ports in [minPort, below) until one is free for
// TCP and UDP; with below 0 the kernel picks.
func freeAddr(below int) (string, error) {
	if below == 0 {
		return bindBoth(0)
	}
	for range 200 {
		if addr, err := bindBoth(minPort + rand.IntN(below-minPort)); err == nil {
			return addr, nil
		}
	}
	return bindBoth(0) // a crowded range: the kernel's pick
}

// bindBoth listens on 127.0.0.1:port for TCP and UDP and closes both,
// returning the address.
func bindBoth(port int) (string, error) {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return "", err
	}
	defer l.Close()
	addr := l.Addr().String()
	u, err := net.ListenPacket("udp", addr)
	if err != nil {
		return "", err
	}
	u.Close()
	return addr, nil
}
