package coordinator

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/internal/testutil"
	"github.com/ringtrain/ringtrain/job"
	"github.com/ringtrain/ringtrain/membership"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// startLivenessServer is a coordinator of a run of one worker without
// checkpoints (losing the worker fails the run), with fast gossip failure
// detection.
func startLivenessServer(t *testing.T) *Server {
	t.Helper()
	spec := job.Default()
	spec.Cluster.MaxWorkers = 1
	spec.Cluster.ProbeInterval = 100 * time.Millisecond
	spec.Checkpoint.EveryEpochs = 0
	b, _ := spec.Marshal()
	s, err := Start(Config{Job: spec, JobBytes: b, GRPCAddr: "127.0.0.1:0", GossipAddr: "127.0.0.1", Secret: testSecret,
		RunID: "liveness", Version: "v1", Tick: 10 * time.Millisecond, TLS: clusterTLS.ServerConfig(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(time.Second) })
	return s
}

// gossipAs starts the gossip node a worker that joined with r would run
// (its name, the run key from Join) and joins the coordinator's gossip.
func gossipAs(t *testing.T, r *pb.JoinResponse) *membership.Membership {
	t.Helper()
	m, err := membership.Start(membership.NodeSpec{Name: r.WorkerId, BindAddr: "127.0.0.1", AdvertiseAddr: "127.0.0.1",
		Secret: testSecret, RunKey: r.DataKey, ProbeInterval: 100 * time.Millisecond,
		Meta:   membership.Meta{Role: membership.RoleWorker, ID: r.WorkerId, DataAddr: "127.0.0.1:9", Version: "v1"},
		Logger: slog.New(slog.DiscardHandler)}.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := m.Join(ctx, []string{r.GossipSeed}); err != nil {
		t.Fatalf("join the coordinator's gossip with the run key from Join: %v", err)
	}
	return m
}

// runningWithEvent reports whether Status lists an event of kind
// mentioning text; it fails the test if the run is no longer running.
func runningWithEvent(t *testing.T, c pb.CoordinatorClient, kind EventKind, text string) bool {
	st, err := c.Status(context.Background(), &pb.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Phase != string(PhaseRunning) {
		t.Fatalf("the run is %s (%s) while the worker's control stream is open", st.Phase, st.Error)
	}
	for _, e := range st.Events {
		if e.Kind == kind.String() && strings.Contains(e.Message, text) {
			return true
		}
	}
	return false
}

// Gossip's verdict on a worker (its node silent: Close without Leave, so
// memberlist declares it failed; or its node leaving) ends the worker only
// when its control stream is not open; while the stream is open the
// verdict is an event and the run goes on, until the stream itself ends. Real gRPC over mutual TLS
// and real memberlist nodes on loopback.
func TestGossipVerdictNeedsAClosedControlStream(t *testing.T) {
	for _, tc := range []struct {
		name       string
		openStream bool
		leave      bool   // the node leaves gracefully instead of going silent
		want       string // in the failed run's reason
	}{
		{"stream open, node failed: kept until the stream ends", true, false, "control stream closed"},
		{"stream open, node left: kept until the stream ends", true, true, "control stream closed"},
		{"no stream, node failed: failed by gossip", false, false, "memberlist: node failed"},
		{"no stream, node left: gone by gossip", false, true, "left"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startLivenessServer(t)
			c := client(t, s.Addr(), testSecret)
			r, err := c.Join(context.Background(), &pb.JoinRequest{Version: "v1", DataAddr: "127.0.0.1:9"})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.openStream {
				st, err := c.WatchPlan(ctx, &pb.WatchPlanRequest{WorkerId: r.WorkerId})
				if err != nil {
					t.Fatal(err)
				}
				if p, err := st.Recv(); err != nil || p.Action != pb.Plan_ACTION_RUN {
					t.Fatalf("%v %+v", err, p)
				}
			}
			m := gossipAs(t, r)
			verdict := "failed"
			if tc.leave {
				verdict = "left"
				lctx, lcancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := m.Leave(lctx)
				lcancel()
				if err != nil {
					t.Fatal(err)
				}
			}
			m.Close() // without Leave: silent, the coordinator's memberlist declares it failed
			if tc.openStream {
				testutil.Eventually(t, 30*time.Second, "the gossip verdict recorded", func() bool {
					return runningWithEvent(t, c, EventGossip, r.WorkerId+" "+verdict)
				})
				runningWithEvent(t, c, EventGossip, "")
				cancel() // now the stream ends
			}
			wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer wcancel()
			res, err := s.Wait(wctx)
			if err != nil || res.Phase != PhaseFailed || !strings.Contains(res.Reason, r.WorkerId) || !strings.Contains(res.Reason, tc.want) {
				t.Fatalf("%v %+v, want a failed run naming %s and %q", err, res, r.WorkerId, tc.want)
			}
		})
	}
}

// freezingProxy forwards TCP connections to addr until freeze is called;
// from then on it moves no more bytes but keeps every socket open: what a
// stopped (SIGSTOP) or hung process looks like to its peer.
type freezingProxy struct {
	ln     net.Listener
	mu     sync.Mutex
	frozen bool
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newFreezingProxy(t *testing.T, addr string) *freezingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezingProxy{ln: ln}
	p.wg.Go(func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", addr)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			p.wg.Go(func() { p.pipe(out, in) })
			p.wg.Go(func() { p.pipe(in, out) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *freezingProxy) addr() string { return p.ln.Addr().String() }

func (p *freezingProxy) freeze() {
	p.mu.Lock()
	p.frozen = true
	p.mu.Unlock()
}

// pipe copies src to dst; once frozen it drops what it reads and stops
// writing, until src is closed.
func (p *freezingProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		p.mu.Lock()
		frozen := p.frozen
		p.mu.Unlock()
		if frozen {
			continue
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}

// A worker whose control connection stays open but goes silent (a stopped
// or hung process: the proxy between it and the coordinator stops moving
// bytes, the sockets stay open) is failed by the coordinator's keepalive:
// its pings go unanswered, gRPC closes the connection and the WatchPlan
// stream ends. Gossip is not involved (the worker has no gossip node).
func TestSilentControlConnectionFailsTheWorker(t *testing.T) {
	s := startLivenessServer(t)
	proxy := newFreezingProxy(t, s.Addr())
	c := client(t, proxy.addr(), testSecret)
	r, err := c.Join(context.Background(), &pb.JoinRequest{Version: "v1", DataAddr: "127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := c.WatchPlan(ctx, &pb.WatchPlanRequest{WorkerId: r.WorkerId})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := st.Recv(); err != nil || p.Action != pb.Plan_ACTION_RUN {
		t.Fatalf("%v %+v", err, p)
	}
	frozen := time.Now()
	proxy.freeze()
	// The worker's own keepalive (a ping after 10 s, 10 s to answer) is not
	// what ends it: the coordinator never sees the client's side close
	// through the frozen proxy.
	wctx, wcancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer wcancel()
	res, err := s.Wait(wctx)
	if err != nil || res.Phase != PhaseFailed || !strings.Contains(res.Reason, r.WorkerId) || !strings.Contains(res.Reason, "control stream") {
		t.Fatalf("%v %+v, want a failed run naming %s's control stream", err, res, r.WorkerId)
	}
	t.Logf("silent control connection -> worker failed after %v (%s)", time.Since(frozen), res.Reason)
}
