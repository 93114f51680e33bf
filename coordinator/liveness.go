package coordinator

import (
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	"github.com/ringtrain/ringtrain/membership"
)

// How the coordinator decides that a worker is gone.
//
//   - Its WatchPlan stream breaks: the worker crashed or closed it (at
//     once), or the coordinator's keepalive closed its connection: after
//     controlKeepaliveTime without a frame from the worker, the coordinator
//     pings it, and without an answer within controlKeepaliveTimeout gRPC
//     closes the connection (it also sets TCP_USER_TIMEOUT to that timeout).
//     A worker that is stopped (SIGSTOP), hung or cut off keeps its socket
//     open, but cannot answer: its stream breaks within about
//     controlKeepaliveTime + controlKeepaliveTimeout.
//   - Gossip (memberlist) declares its node failed or gone. That verdict is
//     acted on only when the worker has no WatchPlan stream open (it joined
//     but has not opened it yet, or between sessions). While its stream is
//     open, the verdict is recorded (EventGossip) and the stream decides:
//     any member of the gossip can declare any node dead (memberlist's
//     "dead" message carries no proof), and the control stream is mutually
//     authenticated end to end, so gossip alone never ends a generation or
//     fails a run.
//
// The timeout is generous on purpose: a worker that is alive but starved
// of CPU (a loaded machine) must not be taken for a stopped one.
const (
	controlKeepaliveTime    = 2 * time.Second
	controlKeepaliveTimeout = 5 * time.Second
)

// keepaliveOptions are the control plane's keepalive settings: the
// coordinator's pings of quiet connections (above), and its enforcement
// policy for the workers' pings of it (every 10 s at most, to notice a
// frozen coordinator; allowed every 5 s, with or without a stream open).
func keepaliveOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: controlKeepaliveTime, Timeout: controlKeepaliveTimeout}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
	}
}

// planStreams counts the open WatchPlan streams of each worker. It owns
// its lock.
type planStreams struct {
	mu   sync.Mutex
	open map[string]int
}

func newPlanStreams() *planStreams { return &planStreams{open: map[string]int{}} }

// opened records a stream of worker id; call the function it returns when
// that stream ends.
func (p *planStreams) opened(id string) (closed func()) {
	p.mu.Lock()
	p.open[id]++
	p.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.open[id]--; p.open[id] <= 0 {
				delete(p.open, id)
			}
		})
	}
}

// isOpen reports whether worker id has a WatchPlan stream open.
func (p *planStreams) isOpen(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.open[id] > 0
}

// gossipVerdict acts on memberlist's verdict that a worker's node failed
// or left: a worker without an open plan stream is failed (or has left);
// one whose stream is open is kept, and the verdict recorded.
func (s *Server) gossipVerdict(ev membership.Event) {
	id := ev.Node.Name
	verdict := "failed"
	if ev.Kind == membership.EventLeave {
		verdict = "left"
	}
	if s.streams.isOpen(id) {
		s.record(EventGossip, fmt.Sprintf("gossip says worker %s %s, but its control stream is open: not acted on "+
			"(a stopped or cut-off worker's stream breaks when it leaves the coordinator's keepalive pings unanswered, within about %v)",
			id, verdict, controlKeepaliveTime+controlKeepaliveTimeout))
		return
	}
	if ev.Kind == membership.EventLeave {
		s.update(func(c *Core) { c.Leave(id) })
		return
	}
	s.failWorker(id, "memberlist: node failed (no control stream open)")
}
