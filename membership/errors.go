package membership

import "errors"

// Sentinel errors callers branch on. Other errors wrap them (or the
// underlying cause) with fmt.Errorf("...: %w", ...).
var (
	// ErrInvalidConfig: Config.Validate or Meta.Validate rejected a field.
	// Every validation error wraps it.
	ErrInvalidConfig = errors.New("membership: invalid config")
	// ErrClosed: the Membership was closed.
	ErrClosed = errors.New("membership: closed")
	// ErrLeft: the node has left the cluster (Leave); memberlist cannot
	// rejoin or re-advertise after a leave, start a new Membership instead.
	ErrLeft = errors.New("membership: left the cluster")
	// ErrJoinFailed: Join reached none of the seeds before its context ended.
	ErrJoinFailed = errors.New("membership: join failed")
)
