package coordinator

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// Join implements the Coordinator service.
func (s *Server) Join(ctx context.Context, req *pb.JoinRequest) (*pb.JoinResponse, error) {
	if req.Version != s.cfg.Version {
		return nil, status.Errorf(codes.FailedPrecondition, "version mismatch: coordinator runs %s, worker runs %s; use the same binary everywhere", s.cfg.Version, req.Version)
	}
	if req.JobHash != "" && req.JobHash != s.hash {
		return nil, status.Errorf(codes.FailedPrecondition, "job mismatch: the worker expects job %.12s, the coordinator runs %.12s", req.JobHash, s.hash)
	}
	if req.DataAddr == "" {
		return nil, status.Error(codes.InvalidArgument, "data_addr is required")
	}
	var id string
	s.update(func(c *Core) {
		// Named under the core's lock: ids count joins in the core's join
		// order, and the roster knows every member before the core does.
		id = s.workers.add(req, time.Now())
		c.Join(id, req.DataAddr)
	})
	return &pb.JoinResponse{WorkerId: id, JobSpec: s.cfg.JobBytes, JobHash: s.hash, GossipSeed: s.ml.Addr(), RunId: s.cfg.RunID, DataKey: s.runKey}, nil
}

// WatchPlan implements the Coordinator service: it streams the worker's
// plan whenever it changes, until STOP. The stream ending early is a
// worker failure.
func (s *Server) WatchPlan(req *pb.WatchPlanRequest, stream pb.Coordinator_WatchPlanServer) error {
	id := req.WorkerId
	if !s.workers.known(id) {
		return status.Error(codes.NotFound, errNotJoined.Error())
	}
	// While the stream is open, gossip alone does not fail the worker
	// (liveness.go).
	defer s.streams.opened(id)()
	var last *pb.Plan
	for {
		s.mu.Lock()
		plan := s.mu.core.PlanFor(id)
		changed := s.mu.changed
		s.mu.Unlock()
		p := toPB(plan)
		if last == nil || !proto.Equal(p, last) {
			if err := stream.Send(p); err != nil {
				s.failWorker(id, "control stream broken: "+err.Error())
				return err
			}
			last = p
		}
		if plan.Action == ActionStop {
			return nil
		}
		select {
		case <-changed:
		case <-stream.Context().Done():
			s.failWorker(id, "control stream closed")
			return stream.Context().Err()
		}
	}
}

func toPB(p Plan) *pb.Plan {
	out := &pb.Plan{Generation: p.Generation, Rank: int32(p.Rank), WorldSize: int32(p.WorldSize), Reason: p.Reason, Failed: p.Failed, RestoreStep: p.Restore, Rejoin: p.Rejoin, RecoverLive: p.Live}
	switch p.Action {
	case ActionRun:
		out.Action = pb.Plan_ACTION_RUN
	case ActionWait:
		out.Action = pb.Plan_ACTION_WAIT
	case ActionStop:
		out.Action = pb.Plan_ACTION_STOP
	}
	if len(p.Addrs) > 0 {
		out.Peers = make(map[int32]string, len(p.Addrs))
		for r, a := range p.Addrs {
			out.Peers[int32(r)] = a
		}
	}
	return out
}

// Status implements the Coordinator service.
func (s *Server) Status(context.Context, *pb.StatusRequest) (*pb.StatusResponse, error) {
	s.mu.Lock()
	c := s.mu.core
	out := &pb.StatusResponse{RunId: s.cfg.RunID, Phase: string(c.Phase()), Generation: c.Generation(),
		WorldSize: int32(c.WorldSize()), JobHash: s.hash, LatestCheckpoint: c.Latest(), MetricsAddr: s.MetricsAddr()}
	if c.Phase() == PhaseFailed {
		out.Error = c.Reason()
	}
	members := c.Members()
	s.mu.Unlock()
	out.Progress, out.Eval, out.Summary = s.board.latest()
	out.LastRestore = s.board.lastRestore()
	out.Events = s.events.recent()
	for _, m := range members {
		pm := &pb.Member{WorkerId: m.ID, DataAddr: m.DataAddr, State: string(m.State), Rank: int32(m.Rank)}
		if info, ok := s.workers.get(m.ID); ok {
			pm.Version, pm.Hostname, pm.LastSeenUnixMs, pm.MetricsAddr = info.version, info.hostname, info.lastSeen.UnixMilli(), info.metricsAddr
			pm.Device = info.device
		}
		if pm.Device == "" {
			pm.Device = s.cfg.Job.Model.Device
		}
		out.Members = append(out.Members, pm)
	}
	return out, nil
}
