package coordinator

import (
	"encoding/json"
	"fmt"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/internal/fence"
	"github.com/ringtrain/ringtrain/job"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// What an admitted worker may upload. Holding the cluster's credentials
// makes a worker a member, not a writer of any checkpoint: admitUpload
// checks an upload's header before anything of it is written, in order:
//
//  1. the uploader: ranked in the header's generation, which is the current
//     one (else the fence's stale-generation refusal, also once that
//     generation has ended and the run waits for workers); standby, failed
//     and departed workers upload nothing (PermissionDenied). The header's rank
//     is the one the coordinator assigned to this worker id
//     (PermissionDenied), its world size the generation's
//     (InvalidArgument).
//  2. the manifest draft: only rank 0 sends one (PermissionDenied). Its step
//     is the header's and its world size the generation's, its job hash
//     none or this job's (InvalidArgument); its model is the job's — kind,
//     hidden sizes and loss, what the job decides — and the one the
//     checkpoint store has pinned (FailedPrecondition). The input shape and
//     class count come from the data, which the coordinator never reads:
//     the store pins the whole spec from the checkpoint the run resumed
//     from, else from the first checkpoint it commits.
//  3. the step (stepRule): above the step the generation restored
//     (InvalidArgument); at most the job's last step when the job fixes it
//     (train.steps; with train.epochs the coordinator does not know the
//     steps per epoch); one of the job's checkpoint steps when the
//     coordinator can tell them (a multiple of checkpoint.every_steps, or
//     the last step; with checkpoint.every_epochs or checkpoint.every any
//     step can be one). A step the run has already committed past
//     (restored before a commit of it, trained again) is acknowledged and
//     nothing is stored.
//
// The shards and the manifest of one step then agree on it: every shard
// comes from its rank of the same generation with the same world size, and
// the manifest from rank 0 with the same step. The store refuses, at
// Commit, a manifest of another model spec or job hash.

// uploadView is what the core says about an uploader, read at one instant.
type uploadView struct {
	generation uint64
	member     Member
	known      bool
	world      int
	restore    int64 // the step the generation restored
	latest     int64 // the newest committed step
}

// uploadView reads id's membership and the generation's checkpoint steps
// from the core.
func (s *Server) uploadView(id string) uploadView {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mu.core
	m, ok := c.Member(id)
	return uploadView{generation: c.Generation(), member: m, known: ok, world: c.WorldSize(), restore: c.Restore(), latest: c.Latest()}
}

// admitUpload decides on an upload from its header and draft (rank 0's
// manifest without shards): an error refuses it, store false acknowledges
// it without storing anything (a step the run has committed past).
func (s *Server) admitUpload(h *pb.ShardHeader, draft *checkpoint.Manifest) (store bool, err error) {
	if err := s.bindStore(); err != nil {
		return false, err
	}
	v := s.uploadView(h.WorkerId)
	if h.Generation != v.generation {
		return false, fence.Refuse(h.Generation, v.generation)
	}
	if err := v.checkUploader(h); err != nil {
		return false, err
	}
	if err := s.checkDraft(h, draft, v.world); err != nil {
		return false, err
	}
	return s.stepRule(v).check(h.Step)
}

// checkUploader refuses a header whose worker is not ranked in the
// generation or claims another rank or world size.
func (v uploadView) checkUploader(h *pb.ShardHeader) error {
	if !v.known {
		return status.Error(codes.NotFound, errNotJoined.Error())
	}
	m := v.member
	if m.State != StateRanked && v.world == 0 {
		// The generation ended without a newer one (the run waits for
		// workers): its ranks are over, not intruders.
		return fence.RefuseEnded(v.generation)
	}
	if m.State != StateRanked {
		return status.Errorf(codes.PermissionDenied, "worker %s is %s, not ranked, in generation %d: only the generation's ranks upload checkpoint shards", m.ID, m.State, v.generation)
	}
	if int(h.Rank) != m.Rank {
		return status.Errorf(codes.PermissionDenied, "worker %s holds rank %d of generation %d: it cannot upload rank %d's shard", m.ID, m.Rank, v.generation, h.Rank)
	}
	if int(h.WorldSize) != v.world {
		return status.Errorf(codes.InvalidArgument, "the shard says world size %d, generation %d has %d ranks", h.WorldSize, v.generation, v.world)
	}
	return nil
}

// checkDraft refuses a manifest draft from a rank other than 0, or one that
// disagrees with its header, the generation, the job or the store's model.
func (s *Server) checkDraft(h *pb.ShardHeader, draft *checkpoint.Manifest, world int) error {
	switch {
	case draft == nil:
		return nil
	case h.Rank != 0:
		return status.Errorf(codes.PermissionDenied, "rank %d sent a manifest draft: only rank 0 sends the checkpoint's manifest", h.Rank)
	case draft.Step != h.Step:
		return status.Errorf(codes.InvalidArgument, "the manifest draft says step %d, its shard step %d", draft.Step, h.Step)
	case draft.WorldSize != world:
		return status.Errorf(codes.InvalidArgument, "the manifest draft says world size %d, the generation has %d ranks", draft.WorldSize, world)
	case draft.JobHash != "" && draft.JobHash != s.hash:
		return status.Errorf(codes.InvalidArgument, "the manifest draft is of job %.12s, this run's is %.12s", draft.JobHash, s.hash)
	}
	if err := jobModel(draft.ModelSpec, s.cfg.Job.Model); err != nil {
		return err
	}
	if err := s.cfg.Checkpoints.CheckModel(draft.ModelSpec); err != nil {
		return status.Errorf(codes.FailedPrecondition, "manifest draft of step %d: %v", h.Step, err)
	}
	return nil
}

// jobModel refuses a model spec whose kind, hidden sizes or loss are not
// the job's (the parts of the model the job decides).
func jobModel(spec json.RawMessage, want job.Model) error {
	var got struct {
		Kind   string `json:"kind"`
		Hidden []int  `json:"hidden"`
		Loss   string `json:"loss"`
	}
	if len(spec) == 0 {
		return status.Error(codes.InvalidArgument, "the manifest draft has no model_spec")
	}
	if err := json.Unmarshal(spec, &got); err != nil {
		return status.Errorf(codes.InvalidArgument, "the manifest draft's model_spec %q: %v", clipSpec(spec), err)
	}
	if got.Kind != want.Kind || !slices.Equal(got.Hidden, want.Hidden) || got.Loss != want.Loss {
		return status.Errorf(codes.FailedPrecondition, "the manifest draft is of another model (kind %q, hidden %v, loss %q): the job trains kind %s, hidden %v, loss %s",
			got.Kind, got.Hidden, got.Loss, want.Kind, want.Hidden, want.Loss)
	}
	return nil
}

// clipSpec shortens a model spec for a message.
func clipSpec(b []byte) string {
	if len(b) > 120 {
		return string(b[:120]) + "…"
	}
	return string(b)
}

// bindStore pins what the checkpoint store must refuse at Commit: another
// job's manifest, and, when the run resumed, a model other than the
// restored checkpoint's (a fresh run's is pinned by its first commit,
// addShard). Pinning again is a no-op.
func (s *Server) bindStore() error {
	store := s.cfg.Checkpoints
	if err := store.ExpectJob(s.hash); err != nil {
		return status.Errorf(codes.FailedPrecondition, "the checkpoint store: %v", err)
	}
	if s.cfg.RestoreStep == 0 || store.ExpectedModel() != nil {
		return nil
	}
	m, err := store.Load(s.cfg.RestoreStep)
	if err != nil {
		return status.Errorf(codes.Internal, "the checkpoint the run resumed from: %v", err)
	}
	if err := store.ExpectModel(m.ModelSpec); err != nil {
		return status.Errorf(codes.FailedPrecondition, "the checkpoint the run resumed from: %v", err)
	}
	return nil
}

// stepRule says which steps a generation may checkpoint, from what the
// coordinator knows: the job, the step the generation restored and LATEST.
type stepRule struct {
	restore, latest int64
	last            int64 // train.steps; 0: not known (train.epochs)
	everySteps      int64 // checkpoint.every_steps; 0: off
	anyStep         bool  // checkpoint.every_epochs or checkpoint.every is on: any step can be a checkpoint
}

// stepRule is the rule of the generation v describes.
func (s *Server) stepRule(v uploadView) stepRule {
	cp := s.cfg.Job.Checkpoint
	return stepRule{restore: v.restore, latest: v.latest, last: int64(s.cfg.Job.Train.Steps),
		everySteps: int64(cp.EverySteps), anyStep: cp.EveryEpochs > 0 || cp.Every > 0}
}

// check says whether a shard of step is stored (false: a step the run has
// committed past, acknowledged without storing), or why it is refused.
func (r stepRule) check(step int64) (bool, error) {
	switch {
	case step <= r.restore:
		return false, status.Errorf(codes.InvalidArgument, "step %d: this generation restored step %d and checkpoints only the steps after it", step, r.restore)
	case r.last > 0 && step > r.last:
		return false, status.Errorf(codes.InvalidArgument, "step %d is after the job's last step %d (train.steps)", step, r.last)
	case step <= r.latest:
		return false, nil
	case r.anyStep || r.last == 0 || r.everySteps > 0 && step%r.everySteps == 0 || step == r.last:
		return true, nil
	}
	return false, status.Errorf(codes.InvalidArgument, "step %d is not a checkpoint step of the job: %s", step, r.steps())
}

// steps describes the job's checkpoint steps for a refusal.
func (r stepRule) steps() string {
	if r.everySteps > 0 {
		return fmt.Sprintf("a multiple of checkpoint.every_steps %d, or the last step %d", r.everySteps, r.last)
	}
	return fmt.Sprintf("only the last step %d", r.last)
}
