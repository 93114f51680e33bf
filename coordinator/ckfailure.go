package coordinator

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ringtrain/ringtrain/checkpoint"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// The failed-checkpoint policy. A checkpoint the coordinator cannot store
// (its disk is full, read-only or failing, or a stray file sits where the
// step directory goes) does not fail the run on its own:
//
//   - the step is marked failed (once per step and generation): an event
//     (logged at ERROR, in Status), ringtrain_checkpoint_failures_total, and
//     Core.CheckpointFailed, which fails the run after
//     checkpoint.max_failures failures in a row;
//   - every upload of that step is answered with codes.Aborted, which the
//     workers take as "this checkpoint failed, train on" (and nothing else
//     of UploadShard answers Aborted);
//   - the step's partial directory is removed (Store.Discard) by every
//     upload of it that touched the disk, the last one leaving nothing, and
//     never a step LATEST may rely on;
//   - LATEST keeps naming the last committed checkpoint; the next
//     checkpoint is tried as usual.
//
// A malformed shard (the worker's bytes) or a broken upload (the worker
// went away) is not a checkpoint failure: those keep their own codes.

// errStepFailed: an upload of a step that already failed.
var errStepFailed = errors.New("the checkpoint of this step already failed")

// pendingLocked returns the step's pending checkpoint of h's generation,
// creating it. The caller holds ckMu.
func (s *Server) pendingLocked(h *pb.ShardHeader) *pendingCheckpoint {
	p := s.pending[h.Step]
	if p == nil || p.gen != h.Generation {
		p = &pendingCheckpoint{gen: h.Generation, world: int(h.WorldSize), shards: map[int]checkpoint.ShardInfo{}}
		s.pending[h.Step] = p
	}
	return p
}

// refuseFailedStep answers an upload of a step that already failed before
// anything is written.
func (s *Server) refuseFailedStep(h *pb.ShardHeader) error {
	s.ckMu.Lock()
	defer s.ckMu.Unlock()
	if p := s.pending[h.Step]; p != nil && p.gen == h.Generation && p.failed != nil {
		return abortedStatus(h.Step, p.failed)
	}
	return nil
}

// writeFailed classifies an error of Store.WriteShard: the sender's fault
// (broken: the upload stream's error, control.ShardUpload.Broken) keeps its
// code, anything else is the coordinator's disk.
func (s *Server) writeFailed(h *pb.ShardHeader, broken, err error) error {
	switch {
	case broken != nil:
		if st, ok := status.FromError(broken); ok {
			return st.Err()
		}
		return status.Errorf(codes.DataLoss, "shard of rank %d step %d: the upload broke: %v", h.Rank, h.Step, broken)
	case errors.Is(err, checkpoint.ErrCorrupt), errors.Is(err, checkpoint.ErrInvalid):
		return status.Errorf(codes.DataLoss, "shard of rank %d step %d is malformed: %v", h.Rank, h.Step, err)
	case errors.Is(err, checkpoint.ErrExists):
		return status.Errorf(codes.FailedPrecondition, "shard of rank %d step %d: %v", h.Rank, h.Step, err)
	}
	return s.checkpointFailed(h, err)
}

// addFailed answers an error of addShard: a step that failed meanwhile (this
// shard is discarded with the rest), a protocol error, or a failed commit.
func (s *Server) addFailed(h *pb.ShardHeader, err error) error {
	if errors.Is(err, errStepFailed) {
		s.discardFailed(h)
		return abortedStatus(h.Step, errors.Unwrap(err))
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	if errors.Is(err, checkpoint.ErrInvalid) || errors.Is(err, checkpoint.ErrMismatch) || errors.Is(err, checkpoint.ErrExists) {
		// The workers' manifest does not fit (another model, a step already
		// committed): not the disk.
		return status.Errorf(codes.FailedPrecondition, "%v", err)
	}
	return s.checkpointFailed(h, err)
}

// checkpointFailed marks h's step failed (recording the failure once),
// removes its partial directory and answers Aborted.
func (s *Server) checkpointFailed(h *pb.ShardHeader, err error) error {
	cause := fmt.Errorf("the coordinator's disk (%s): %w", s.cfg.Checkpoints.Dir(), err)
	s.ckMu.Lock()
	p := s.pendingLocked(h)
	first := p.failed == nil
	if first {
		p.failed, p.shards, p.manifest = cause, nil, nil
	}
	s.ckMu.Unlock()
	if first {
		s.metrics.CheckpointFails.Inc()
		s.update(func(c *Core) { c.CheckpointFailed(h.Step, cause.Error()) })
	}
	s.discardFailed(h)
	s.ckMu.Lock()
	defer s.ckMu.Unlock()
	return abortedStatus(h.Step, p.failed)
}

// discardFailed removes the directory of h's step if that step failed in
// h's generation. Every upload that touched the step calls it when done,
// so the last one leaves nothing behind.
func (s *Server) discardFailed(h *pb.ShardHeader) {
	s.ckMu.Lock()
	defer s.ckMu.Unlock()
	if p := s.pending[h.Step]; p == nil || p.gen != h.Generation || p.failed == nil {
		return
	}
	if err := s.cfg.Checkpoints.Discard(h.Step); err != nil {
		s.log.Warn("the failed checkpoint's directory was not removed", "step", h.Step, "err", err)
	}
}

// abortedStatus is the answer to every upload of a failed step.
func abortedStatus(step int64, cause error) error {
	return status.Errorf(codes.Aborted, "checkpoint step %d failed on %v; training goes on", step, cause)
}
