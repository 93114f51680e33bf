package allreduce

import "errors"

// Sentinel errors callers branch on. Transports wrap them with detail
// (which peer, which tag) using fmt.Errorf("...: %w", ...).
var (
	// ErrAborted: Abort was called (typically on a generation change).
	ErrAborted = errors.New("allreduce: aborted")
	// ErrPeerLost: a peer's link broke (connection reset, closed, cut).
	ErrPeerLost = errors.New("allreduce: peer lost")
	// ErrTimeout: no progress from a peer within the configured I/O timeout.
	ErrTimeout = errors.New("allreduce: timeout")
	// ErrProtocol: a frame did not match what the schedule expected (wrong
	// tag, wrong length, garbage): the ranks are out of step.
	ErrProtocol = errors.New("allreduce: protocol error")
	// ErrClosed: the Comm or Transport was closed.
	ErrClosed = errors.New("allreduce: closed")
)
