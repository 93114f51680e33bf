package membership

import (
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"

	"github.com/hashicorp/memberlist"

	"github.com/ringtrain/ringtrain/internal/connlimit"
)

// StreamLimits bound the gossip TCP connections (joins, state syncs, TCP
// probes) a node handles at once: 128 in all, 32 from one IP address, so
// that the nodes of a cluster run on one host all get in while a host that
// opens connections and leaves them quiet holds a bounded share (each for
// at most Config.TCPTimeout, memberlist's deadline on a stream). Extras
// are closed as they arrive.
func StreamLimits() connlimit.Limits { return connlimit.Limits{Total: 128, PerHost: 32} }

// gossipTransport is memberlist's own NetTransport whose incoming stream
// connections pass a connlimit.Gate before memberlist sees them; packets
// (UDP) pass as they are.
type gossipTransport struct {
	*memberlist.NetTransport
	gate    *connlimit.Gate
	streams chan net.Conn

	stopping  chan struct{} // closed by Shutdown: admitted streams are closed, not handed on
	drained   chan struct{} // closed once the NetTransport has shut down
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// listenGossip opens mc's transport as memberlist would (the same bind
// address and port; a free port, tried up to 10 times, when the port is
// 0, recorded in mc as memberlist does) behind StreamLimits, and sets
// mc.Transport. The caller shuts it down if memberlist.Create fails.
func listenGossip(mc *memberlist.Config, log *slog.Logger) (*gossipTransport, error) {
	gate, err := connlimit.NewGate("gossip", StreamLimits(), log.With("component", "memberlist"))
	if err != nil {
		return nil, err
	}
	nc := &memberlist.NetTransportConfig{BindAddrs: []string{mc.BindAddr}, BindPort: mc.BindPort, Logger: mc.Logger}
	tries := 1
	if mc.BindPort == 0 {
		tries = 10 // the TCP port is free, its UDP twin may not be
	}
	var nt *memberlist.NetTransport
	for range tries {
		if nt, err = memberlist.NewNetTransport(nc); err == nil || !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("could not set up network transport: %w", err)
	}
	if mc.BindPort == 0 {
		mc.BindPort = nt.GetAutoBindPort()
		mc.AdvertisePort = mc.BindPort
	}
	t := &gossipTransport{NetTransport: nt, gate: gate, streams: make(chan net.Conn),
		stopping: make(chan struct{}), drained: make(chan struct{})}
	t.wg.Go(t.admit)
	mc.Transport = t
	return t, nil
}

// StreamCh is where memberlist reads the stream connections admitted.
func (t *gossipTransport) StreamCh() <-chan net.Conn { return t.streams }

// admit hands memberlist the incoming streams the gate admits until
// Shutdown; then it closes what still arrives until the NetTransport's
// accept loops have ended (they block handing over a connection).
func (t *gossipTransport) admit() {
	in := t.NetTransport.StreamCh()
	for {
		select {
		case c := <-in:
			ac, ok := t.gate.Admit(c)
			if !ok {
				continue
			}
			select {
			case t.streams <- ac:
			case <-t.stopping:
				ac.Close()
			}
		case <-t.drained:
			return
		}
	}
}

// Shutdown stops the NetTransport and the admitting goroutine.
// Idempotent: memberlist calls it from its Shutdown, Start when Create
// fails.
func (t *gossipTransport) Shutdown() error {
	t.closeOnce.Do(func() {
		close(t.stopping)
		t.closeErr = t.NetTransport.Shutdown()
		close(t.drained)
		t.wg.Wait()
	})
	return t.closeErr
}
