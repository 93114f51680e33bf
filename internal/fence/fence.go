// Package fence is the control plane's generation fence as both sides see
// it: the coordinator refuses a report or a checkpoint upload that carries
// a generation the run has left (a newer one was formed, usually because a
// member was lost), and a worker recognizes that refusal by its typed
// detail, never by its message.
//
// The refusal is a gRPC status with code FailedPrecondition and one
// google.rpc.ErrorInfo detail {reason: STALE_GENERATION, domain: ringtrain,
// metadata: generation, current}. To a worker it means that its generation
// is over and that its next plan is on the way: never that the run failed.
package fence

import (
	"strconv"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Domain and ReasonStaleGeneration identify the refusal's ErrorInfo.
const (
	Domain                = "ringtrain"
	ReasonStaleGeneration = "STALE_GENERATION"
)

// Refuse is the coordinator's answer to a request of generation got while
// the run is at generation current.
func Refuse(got, current uint64) error {
	return refusal(status.Newf(codes.FailedPrecondition, "stale generation %d: the run is at generation %d", got, current), got, current)
}

// RefuseEnded is the coordinator's answer to a request of generation gen
// once that generation has ended and no newer one has formed yet (the run
// waits for workers): the same typed refusal as Refuse's.
func RefuseEnded(gen uint64) error {
	return refusal(status.Newf(codes.FailedPrecondition, "stale generation %d: it has ended, the run waits for the next", gen), gen, gen)
}

// refusal is st with the stale-generation ErrorInfo detail.
func refusal(st *status.Status, got, current uint64) error {
	d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: ReasonStaleGeneration, Domain: Domain,
		Metadata: map[string]string{"generation": strconv.FormatUint(got, 10), "current": strconv.FormatUint(current, 10)}})
	if err != nil {
		return st.Err() // cannot happen: ErrorInfo always marshals
	}
	return d.Err()
}

// IsStale reports whether err, or an error it wraps, is the coordinator's
// refusal of a request of a generation the run has left.
func IsStale(err error) bool {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.FailedPrecondition {
		return false
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.Domain == Domain && info.Reason == ReasonStaleGeneration {
			return true
		}
	}
	return false
}
