package coordinator

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/internal/connlimit"
	"github.com/ringtrain/ringtrain/internal/testutil"
	"github.com/ringtrain/ringtrain/job"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

func TestControlConnLimits(t *testing.T) {
	for _, tc := range []struct {
		maxWorkers int
		want       connlimit.Limits
	}{
		{1, connlimit.Limits{Total: 66, PerHost: 17}},
		{64, connlimit.Limits{Total: 192, PerHost: 80}},
		{1024, connlimit.Limits{Total: 2112, PerHost: 1040}},
	} {
		spec := job.Default()
		spec.Cluster.MaxWorkers = tc.maxWorkers
		got := ControlConnLimits(spec)
		if got != tc.want {
			t.Errorf("max_workers %d: %+v, want %+v", tc.maxWorkers, got, tc.want)
		}
		if err := got.Validate(); err != nil {
			t.Errorf("max_workers %d: %v", tc.maxWorkers, err)
		}
	}
}

// A host that opens connections to the control plane and leaves them quiet
// holds its share and no more: the rest are closed as they arrive, the ones
// it holds are closed by gRPC's handshake timeout (10 s), which frees them,
// and a client on another address calls the service meanwhile.
func TestControlPlaneBoundsQuietConnections(t *testing.T) {
	s := startServer(t, 2)
	lim := ControlConnLimits(s.cfg.Job)
	const extra = 6
	var conns []net.Conn
	for range lim.PerHost + extra {
		c := testutil.DialFrom(t, "127.0.0.2", s.Addr())
		defer c.Close()
		conns = append(conns, c)
	}
	// Refused connections are closed at once; held ones wait 10 s for a
	// TLS handshake.
	if n := testutil.CountClosed(conns, 3*time.Second); n != extra {
		t.Fatalf("%d of %d quiet connections from 127.0.0.2 closed at once, want %d (the host's share is %d)", n, len(conns), extra, lim.PerHost)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := client(t, s.Addr(), testSecret).Status(ctx, &pb.StatusRequest{}); err != nil {
		t.Fatalf("Status from 127.0.0.1 while 127.0.0.2 holds its share: %v", err)
	}
	if n := testutil.CountClosed(conns, 30*time.Second); n != len(conns) {
		t.Fatalf("%d of the %d held connections still open after gRPC's 10 s handshake timeout", len(conns)-n, lim.PerHost)
	}
	gate := s.ln.(*connlimit.Listener).Gate()
	testutil.Eventually(t, 10*time.Second, "the closed connections' places freed", func() bool {
		_, held := gate.Held("127.0.0.2")
		return held == 0
	})
	c := testutil.DialFrom(t, "127.0.0.2", s.Addr())
	defer c.Close()
	if testutil.ClosedWithin(c, time.Second) {
		t.Fatal("a connection from 127.0.0.2 refused after its others were closed")
	}
}
