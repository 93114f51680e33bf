package coordinator

import (
	"sync"

	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// board keeps the run's latest figures for Status: rank 0's progress, the
// latest evaluation and the final summary. It is a reportObserver and owns
// its lock.
type board struct {
	mu       sync.Mutex // guards the fields below
	progress *pb.Progress
	eval     *pb.Eval
	summary  *pb.Summary
	restored *pb.Restored // where the latest generation's state came from
}

func (b *board) observeReport(a accepted) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch body := a.req.Body.(type) {
	case *pb.ReportRequest_Progress:
		if a.req.Rank == 0 { // other ranks' are heartbeats: rank 0 speaks for the generation
			b.progress = body.Progress
			if r := body.Progress.GetRestored(); r != nil {
				b.restored = r
			}
		}
	case *pb.ReportRequest_Eval:
		b.eval = body.Eval
	case *pb.ReportRequest_Done:
		b.summary = body.Done
	}
}

// latest returns the figures (shared: never modified once reported).
func (b *board) latest() (*pb.Progress, *pb.Eval, *pb.Summary) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.progress, b.eval, b.summary
}

// lastRestore is where the latest generation's state came from (nil: no
// generation has reported it).
func (b *board) lastRestore() *pb.Restored {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.restored
}
