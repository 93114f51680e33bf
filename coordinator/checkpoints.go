package coordinator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/control"
	"github.com/ringtrain/ringtrain/internal/fence"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// pendingCheckpoint collects the shards of one step until every rank's is
// durable; then the manifest is committed.
type pendingCheckpoint struct {
	gen      uint64 // shards of another generation never mix
	world    int
	shards   map[int]checkpoint.ShardInfo
	manifest *checkpoint.Manifest
	// failed is why this step could not be stored (nil: not failed); its
	// other shards are refused or discarded (ckfailure.go).
	failed error
}

// UploadShard implements the Coordinator service: it writes one rank's
// shard durably (fenced by generation, from the worker holding that rank,
// of a step the generation may checkpoint: uploadrules.go) and commits the
// checkpoint when the step is complete. A step the coordinator cannot
// store (its disk) is answered with codes.Aborted: the checkpoint failed,
// the worker trains on (ckfailure.go).
func (s *Server) UploadShard(stream pb.Coordinator_UploadShardServer) error {
	store := s.cfg.Checkpoints
	if store == nil {
		return status.Error(codes.FailedPrecondition, "checkpointing is off on this coordinator")
	}
	r, err := control.ReceiveShard(stream)
	if err != nil {
		return err
	}
	h := r.Header
	gen := s.generation()
	if !s.workers.known(h.WorkerId) {
		return status.Error(codes.NotFound, errNotJoined.Error())
	}
	if h.Generation != gen {
		return fence.Refuse(h.Generation, gen)
	}
	draft, err := r.Draft()
	if err != nil {
		return err
	}
	// Who may upload what (uploadrules.go): nothing is written before.
	keep, err := s.admitUpload(h, draft)
	if err != nil {
		return err
	}
	if !keep {
		return s.drain(r, h, false)
	}
	if err := s.refuseFailedStep(h); err != nil {
		return err
	}
	// One upload of this (step, rank) at a time: an upload of an older
	// generation still streaming when a newer one uploads the same step must
	// not rename its file over the newer one's (shardlock.go).
	unlock, err := s.lockShard(stream.Context(), h.Step, int(h.Rank))
	if err != nil {
		return err
	}
	defer unlock()
	if gen := s.generation(); h.Generation != gen {
		return fence.Refuse(h.Generation, gen)
	}
	start := time.Now()
	info, err := store.WriteShard(h.Step, int(h.Rank), r)
	if errors.Is(err, checkpoint.ErrExists) && r.Broken() == nil {
		return s.drain(r, h, true)
	}
	if err != nil {
		return s.writeFailed(h, r.Broken(), err)
	}
	if err := r.Verify(info.Size, info.CRC32C); err != nil {
		return err
	}
	committed, err := s.addShard(h, info, draft, s.generation())
	if err != nil {
		return s.addFailed(h, err)
	}
	if committed {
		s.metrics.Checkpoints.Inc()
		s.metrics.CheckpointSeconds.Observe(time.Since(start).Seconds())
		s.update(func(c *Core) { c.Checkpointed(h.Step) })
		s.record(EventCheckpoint, fmt.Sprintf("checkpoint step %d committed (%d shards, last shard %d bytes in %v)", h.Step, h.WorldSize, info.Size, time.Since(start).Round(time.Millisecond)))
	}
	return r.Close(committed)
}

// drain acknowledges an upload of a step the run has committed (committed)
// or committed past, storing nothing: this generation restored an older
// checkpoint (it can be formed between a commit and Checkpointed) and
// trained the step again. The worker trains on.
func (s *Server) drain(r *control.ShardUpload, h *pb.ShardHeader, committed bool) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return s.writeFailed(h, r.Broken(), err)
	}
	return r.Close(committed)
}

// addShard records a durable shard of h's step and commits the step once
// every rank's shard and the manifest draft are in. gen is the run's
// generation now: a shard of a generation the run has left (it finished
// writing after a newer generation formed) is refused, and never replaces
// the newer generation's pending shards.
func (s *Server) addShard(h *pb.ShardHeader, info checkpoint.ShardInfo, draft *checkpoint.Manifest, gen uint64) (bool, error) {
	if h.Generation != gen {
		return false, fence.Refuse(h.Generation, gen)
	}
	s.ckMu.Lock()
	defer s.ckMu.Unlock()
	if p := s.pending[h.Step]; p != nil && p.gen > h.Generation {
		return false, fence.Refuse(h.Generation, p.gen)
	}
	p := s.pendingLocked(h)
	if p.failed != nil {
		return false, fmt.Errorf("%w: %w", errStepFailed, p.failed)
	}
	if p.world != int(h.WorldSize) {
		return false, status.Errorf(codes.InvalidArgument, "rank %d says world size %d, others %d", h.Rank, h.WorldSize, p.world)
	}
	p.shards[int(h.Rank)] = info
	if draft != nil {
		p.manifest = draft
	}
	if len(p.shards) < p.world || p.manifest == nil {
		return false, nil
	}
	m := *p.manifest
	m.Shards = m.Shards[:0]
	for _, sh := range p.shards {
		m.Shards = append(m.Shards, sh)
	}
	sort.Slice(m.Shards, func(i, j int) bool { return m.Shards[i].Rank < m.Shards[j].Rank })
	m.JobHash, m.Job = s.hash, string(s.cfg.JobBytes)
	m.CreatedUnixMs = time.Now().UnixMilli()
	delete(s.pending, h.Step)
	for step := range s.pending { // older incomplete steps can never complete now
		if step < h.Step {
			delete(s.pending, step)
		}
	}
	s.pruneShardLocksLocked(h.Step)
	// The first commit of a fresh run pins the model (a resumed run's is
	// the restored checkpoint's: bindStore); Commit refuses another.
	if err := s.cfg.Checkpoints.ExpectModel(m.ModelSpec); err != nil {
		return false, fmt.Errorf("commit step %d: %w", h.Step, err)
	}
	if err := s.cfg.Checkpoints.Commit(m); errors.Is(err, checkpoint.ErrPrune) {
		s.log.Warn("checkpoint committed, but older ones could not be removed", "step", h.Step, "err", err)
	} else if err != nil {
		return false, fmt.Errorf("commit step %d: %w", h.Step, err)
	}
	var total int64
	for _, sh := range m.Shards {
		total += sh.Size
	}
	s.metrics.CheckpointBytes.Set(float64(total))
	return true, nil
}

// GetCheckpoint implements the Coordinator service.
func (s *Server) GetCheckpoint(_ context.Context, req *pb.GetCheckpointRequest) (*pb.GetCheckpointResponse, error) {
	if s.cfg.Checkpoints == nil {
		return nil, status.Error(codes.FailedPrecondition, "checkpointing is off on this coordinator")
	}
	m, err := s.cfg.Checkpoints.Load(req.Step)
	if err != nil {
		return nil, status.Errorf(codes.NotFound, "checkpoint step %d: %v", req.Step, err)
	}
	b, err := checkpoint.EncodeManifest(m)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "%v", err)
	}
	return &pb.GetCheckpointResponse{Manifest: b}, nil
}

// DownloadRange implements the Coordinator service: the flat range of the
// parameters or of every optimizer state, resharded from whatever world
// size wrote the checkpoint.
func (s *Server) DownloadRange(req *pb.DownloadRangeRequest, stream pb.Coordinator_DownloadRangeServer) error {
	store := s.cfg.Checkpoints
	if store == nil {
		return status.Error(codes.FailedPrecondition, "checkpointing is off on this coordinator")
	}
	m, err := store.Load(req.Step)
	if err != nil {
		return status.Errorf(codes.NotFound, "checkpoint step %d: %v", req.Step, err)
	}
	if req.Lo < 0 || req.Hi < req.Lo || req.Hi > int64(m.NumParams) {
		return status.Errorf(codes.InvalidArgument, "range [%d, %d) outside the %d parameters", req.Lo, req.Hi, m.NumParams)
	}
	params, states, err := store.ReadRange(m, int(req.Lo), int(req.Hi))
	if err != nil {
		return status.Errorf(codes.DataLoss, "read checkpoint step %d: %v", req.Step, err)
	}
	if !req.State {
		return control.SendRange(stream, "params", params)
	}
	for _, name := range m.StateNames {
		if err := control.SendRange(stream, name, states[name]); err != nil {
			return err
		}
	}
	return nil
}
