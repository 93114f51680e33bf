package membership

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/internal/testutil"
)

// A host that opens gossip TCP connections and leaves them quiet holds its
// share of the node's streams and no more: the rest are closed as they
// arrive, the ones it holds are closed after TCPTimeout, and another node
// joins meanwhile.
func TestGossipStreamsAreBounded(t *testing.T) {
	cfg := testConfig("seed", RoleCoordinator)
	cfg.TCPTimeout = 8 * time.Second // what a held stream is given
	seed := startNode(t, cfg)
	lim := StreamLimits()
	const extra = 5
	var conns []net.Conn
	for range lim.PerHost + extra {
		c := testutil.DialFrom(t, "127.0.0.2", seed.Addr())
		defer c.Close()
		conns = append(conns, c)
	}
	if n := testutil.CountClosed(conns, 3*time.Second); n != extra {
		t.Fatalf("%d of %d quiet gossip connections from 127.0.0.2 closed at once, want %d (the host's share is %d)", n, len(conns), extra, lim.PerHost)
	}
	w := startNode(t, testConfig("worker", RoleWorker))
	joinNode(t, w, seed)
	waitEvent(t, seed, EventJoin, "worker", 10*time.Second)
	if n := testutil.CountClosed(conns, 30*time.Second); n != len(conns) {
		t.Fatalf("%d held gossip connections still open well after TCPTimeout (%v)", len(conns)-n, cfg.TCPTimeout)
	}
	c := testutil.DialFrom(t, "127.0.0.2", seed.Addr())
	defer c.Close()
	if testutil.ClosedWithin(c, time.Second) {
		t.Fatal("a gossip connection from 127.0.0.2 refused after its others were closed")
	}
}

// The transport behind the limits binds as memberlist's own did: a free
// port when asked for 0, the asked port else, and a taken port is an error
// naming the node and the address, with nothing left running.
func TestGossipTransportBinds(t *testing.T) {
	a := startNode(t, testConfig("a", RoleWorker))
	_, port, err := net.SplitHostPort(a.Addr())
	if err != nil || port == "0" {
		t.Fatalf("Addr %q (%v): want the port picked", a.Addr(), err)
	}
	cfg := testConfig("b", RoleWorker)
	cfg.BindPort, _ = strconv.Atoi(port)
	_, err = Start(cfg)
	if err == nil || !strings.Contains(err.Error(), `membership: start node "b" on 127.0.0.1:`+port) || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Start on a taken port: %v", err)
	}
	free := testutil.FreePort(t)
	cfg.BindPort = free
	b := startNode(t, cfg)
	if want := "127.0.0.1:" + strconv.Itoa(free); b.Addr() != want {
		t.Fatalf("Addr %s, want %s", b.Addr(), want)
	}
	joinNode(t, b, a)
}
