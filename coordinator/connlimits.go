package coordinator

import (
	"fmt"
	"log/slog"
	"net"

	"github.com/ringtrain/ringtrain/internal/connlimit"
	"github.com/ringtrain/ringtrain/job"
)

// ControlConnLimits bound the connections the control plane's clients can
// hold at once, sized from the job: every admitted worker holds one (a
// gRPC connection multiplexes its calls), a worker that reconnects may
// briefly hold two, and status and other tools come and go. In all: twice
// cluster.max_workers plus 64; from one IP address: cluster.max_workers
// plus 16, so that every worker of a cluster run on one host (launch) gets
// in while a host that opens connections and leaves them quiet holds a
// bounded share (each for at most the 10 s gRPC gives a connection to
// finish its TLS handshake). Extras are closed as they arrive.
func ControlConnLimits(spec job.Spec) connlimit.Limits {
	n := spec.Cluster.MaxWorkers
	return connlimit.Limits{Total: 2*n + 64, PerHost: n + 16}
}

// listenControl opens the control plane's listener on addr behind the
// connection limits of spec.
func listenControl(addr string, spec job.Spec, log *slog.Logger) (*connlimit.Listener, error) {
	gate, err := connlimit.NewGate("control-plane", ControlConnLimits(spec), log)
	if err != nil {
		return nil, fmt.Errorf("coordinator: control plane: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("coordinator: control plane: %w", err)
	}
	return connlimit.Wrap(ln, gate), nil
}
