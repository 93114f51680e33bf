package coordinator

import (
	"context"

	"google.golang.org/grpc/status"
)

// shardKey names one rank's shard of one step.
type shardKey struct {
	step int64
	rank int
}

// lockShard waits until no other upload of (step, rank) is being written,
// or ctx ends (the uploader went away), and returns the unlock function.
// Shard files of a step are named by rank only, so without it an upload of
// a generation the run has left, still streaming when a newer generation
// uploads the same step, could rename its file over the newer one's after
// the newer one was recorded; the commit would then fail its checksum.
// Locks of committed and older steps are dropped at each commit
// (pruneShardLocksLocked).
func (s *Server) lockShard(ctx context.Context, step int64, rank int) (func(), error) {
	s.ckMu.Lock()
	ch := s.shardLocks[shardKey{step, rank}]
	if ch == nil {
		ch = make(chan struct{}, 1)
		s.shardLocks[shardKey{step, rank}] = ch
	}
	s.ckMu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

// pruneShardLocksLocked drops the idle locks of steps up to committed: such
// a step is committed or can never be (an upload of it finds the step
// committed, or older than LATEST). The caller holds ckMu.
func (s *Server) pruneShardLocksLocked(committed int64) {
	for k, ch := range s.shardLocks {
		if k.step <= committed && len(ch) == 0 {
			delete(s.shardLocks, k)
		}
	}
}
