package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	"github.com/ringtrain/ringtrain/control"
	"github.com/ringtrain/ringtrain/membership"
)

// How a worker notices a coordinator that is alive to the kernel (its TCP
// connections stay open) but does nothing: stopped (SIGSTOP), hung, or cut
// off without a reset. Either way the session ends as if the plan stream
// had broken: the worker joins again for Config.JoinTimeout, then exits
// with an error saying what happened.
//
//   - Gossip: memberlist declares the coordinator's node dead after its
//     suspicion timeout (cluster.probe_interval × cluster.suspicion_mult,
//     about 3 s by default); watchCoordinator turns that event into the
//     session's end.
//   - gRPC keepalive: after keepaliveTime without a byte from the
//     coordinator, the control connection is pinged; without an answer
//     within keepaliveTimeout gRPC closes it and the plan stream breaks.
//     This also covers a coordinator whose gossip still answers. gRPC
//     clients ping at most every 10 s; the coordinator's enforcement
//     policy allows every 5 s.
const (
	keepaliveTime    = 10 * time.Second
	keepaliveTimeout = 10 * time.Second
)

// keepaliveOption is the control connection's keepalive.
func keepaliveOption() grpc.DialOption {
	return grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: keepaliveTime, Timeout: keepaliveTimeout})
}

// watchCoordinator reads this session's membership events until ctx ends
// or the channel closes, and calls lost, once, when gossip declares the
// node of the coordinator of run runID (addr is its control-plane address)
// dead or gone. Every other event is dropped (reading them keeps the
// membership's queue from growing).
func watchCoordinator(ctx context.Context, events <-chan membership.Event, runID, addr string, lost func(error)) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			if ev.Node.Meta.Role != membership.RoleCoordinator || ev.Node.Meta.ID != runID {
				continue
			}
			switch ev.Kind {
			case membership.EventFail:
				lost(fmt.Errorf("%w %s: unresponsive (gossip declared its node %s dead)", errCoordinatorLost, addr, ev.Node.Name))
				return
			case membership.EventLeave:
				lost(fmt.Errorf("%w %s: its node %s left the cluster", errCoordinatorLost, addr, ev.Node.Name))
				return
			}
		}
	}
}

// streamBreak says why the plan stream broke with err. A keepalive that
// went unanswered shows either as gRPC's own "keepalive ping failed" or,
// since gRPC also sets TCP_USER_TIMEOUT to the keepalive timeout, as a read
// that timed out (ETIMEDOUT): both mean a coordinator that stopped
// answering, not one that closed the connection.
func streamBreak(err error) string {
	st, ok := status.FromError(err)
	if ok && st.Code() == codes.Unavailable {
		msg := st.Message()
		if strings.Contains(msg, "keepalive") || strings.Contains(msg, syscall.ETIMEDOUT.Error()) {
			return fmt.Sprintf("unresponsive (no answer to keepalive pings within %v: %s)", keepaliveTimeout, rpcText(err))
		}
	}
	return fmt.Sprintf("control stream broken (%s)", rpcText(err))
}

// gaveUp is the error of a worker that lost its coordinator (lost, the
// session's end) and could not join it again within the join timeout.
func gaveUp(lost, err error, timeout time.Duration) error {
	var ue *control.UnreachableError
	if lost == nil || !errors.As(err, &ue) {
		return err
	}
	return fmt.Errorf("worker: %w; gave up rejoining after --join-timeout %v (last attempt: %s)", lost, timeout, rpcText(ue.Last))
}

// rpcText is a gRPC error as "Code: message" (the code's name and the
// status message), any other error as it is.
func rpcText(err error) string {
	if st, ok := status.FromError(err); ok {
		return st.Code().String() + ": " + st.Message()
	}
	return err.Error()
}
