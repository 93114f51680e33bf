package coordinator

import pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"

// accepted is a worker report the Server accepted (the worker is known, the
// generation is current), with what the core said when it was accepted:
// observers read these copies, never the core.
type accepted struct {
	req        *pb.ReportRequest
	generation uint64
	ranks      []string // member id by rank in that generation (read-only)
}

// worldSize is the size of the generation the report was accepted in.
func (a accepted) worldSize() int { return len(a.ranks) }

// reportObserver is told every accepted report, outside Server.mu. Each
// observer owns its state (its own lock); reports of one worker arrive in
// the order it sent them.
type reportObserver interface {
	observeReport(accepted)
}
