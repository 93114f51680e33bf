package coordinator

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/ringtrain/ringtrain/internal/fence"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
	"github.com/ringtrain/ringtrain/telemetry"
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
		s.mu.seq++
		id = fmt.Sprintf("w%d-%s", s.mu.seq, hostnameOr(req.Hostname))
		s.mu.info[id] = &workerInfo{version: req.Version, hostname: req.Hostname, lastSeen: time.Now(), metricsAddr: req.MetricsAddr}
		c.Join(id, req.DataAddr)
	})
	return &pb.JoinResponse{WorkerId: id, JobSpec: s.cfg.JobBytes, JobHash: s.hash, GossipSeed: s.ml.Addr(), RunId: s.cfg.RunID, DataKey: s.dataKey}, nil
}

// WatchPlan implements the Coordinator service: it streams the worker's
// plan whenever it changes, until STOP. The stream ending early is a
// worker failure.
func (s *Server) WatchPlan(req *pb.WatchPlanRequest, stream pb.Coordinator_WatchPlanServer) error {
	id := req.WorkerId
	s.mu.Lock()
	_, known := s.mu.info[id]
	s.mu.Unlock()
	if !known {
		return status.Error(codes.NotFound, errNotJoined.Error())
	}
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
	out := &pb.Plan{Generation: p.Generation, Rank: int32(p.Rank), WorldSize: int32(p.WorldSize), Reason: p.Reason, Failed: p.Failed, RestoreStep: p.Restore, Rejoin: p.Rejoin}
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

// Report implements the Coordinator service.
func (s *Server) Report(ctx context.Context, req *pb.ReportRequest) (*pb.ReportResponse, error) {
	var err error
	s.update(func(c *Core) {
		info, ok := s.mu.info[req.WorkerId]
		if !ok {
			err = status.Error(codes.NotFound, errNotJoined.Error())
			return
		}
		// Traces are history: any generation. A failure outside any
		// generation (generation 0: the worker's setup) always counts; one of
		// a generation the run has left does not: that generation is over,
		// and a fault of the worker's own recurs in its next one.
		_, isFailure := req.Body.(*pb.ReportRequest_Failure)
		_, isTrace := req.Body.(*pb.ReportRequest_Trace)
		if req.Generation != c.Generation() && !isTrace && !(isFailure && req.Generation == 0) {
			err = fence.Refuse(req.Generation, c.Generation())
			return
		}
		info.lastSeen = time.Now()
		switch b := req.Body.(type) {
		case *pb.ReportRequest_Progress:
			s.observeProgress(c, req)
			s.recordHistory(req)
			if req.Rank != 0 {
				return // a heartbeat: rank 0 speaks for the generation
			}
			s.mu.progress = b.Progress
			s.metrics.Step.Set(float64(b.Progress.Step))
			s.metrics.Loss.Set(b.Progress.Loss)
			s.metrics.SamplesPerSec.Set(b.Progress.SamplesPerS)
			if !s.mu.recovering.IsZero() {
				d := time.Since(s.mu.recovering)
				c.logf("recovered", "generation %d running, %v after the failure", c.Generation(), d.Round(time.Millisecond))
				s.metrics.Recoveries.Inc()
				s.metrics.RecoverySeconds.Observe(d.Seconds())
				s.mu.recovering = time.Time{}
			}
		case *pb.ReportRequest_Eval:
			s.mu.eval = b.Eval
			s.recordHistory(req)
			s.metrics.TestAccuracy.Set(b.Eval.Accuracy)
		case *pb.ReportRequest_Done:
			s.mu.summary = b.Done
			c.Done()
		case *pb.ReportRequest_Failure:
			c.Failure(req.WorkerId, b.Failure)
		case *pb.ReportRequest_Stalled:
			c.Stalled(req.Generation, req.WorkerId+": "+b.Stalled)
		case *pb.ReportRequest_Trace:
			if s.cfg.Trace != nil {
				var events []telemetry.TraceEvent
				if e := json.Unmarshal(b.Trace, &events); e != nil {
					err = status.Errorf(codes.InvalidArgument, "trace events: %v", e)
					return
				}
				if e := s.cfg.Trace.Add(req.WorkerId, events); e != nil {
					s.log.Warn("trace not written", "err", e)
				}
			}
		}
	})
	if err != nil {
		return nil, err
	}
	if s.cfg.OnReport != nil && req.Rank == 0 {
		s.cfg.OnReport(req)
	}
	return &pb.ReportResponse{}, nil
}

// Status implements the Coordinator service.
func (s *Server) Status(context.Context, *pb.StatusRequest) (*pb.StatusResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mu.core
	out := &pb.StatusResponse{RunId: s.cfg.RunID, Phase: string(c.Phase()), Generation: c.Generation(),
		WorldSize: int32(c.WorldSize()), Progress: s.mu.progress, Eval: s.mu.eval, Summary: s.mu.summary,
		Events: s.mu.events, JobHash: s.hash, LatestCheckpoint: c.Latest(), MetricsAddr: s.MetricsAddr()}
	if c.Phase() == PhaseFailed {
		out.Error = c.Reason()
	}
	for _, m := range c.Members() {
		info := s.mu.info[m.ID]
		pm := &pb.Member{WorkerId: m.ID, DataAddr: m.DataAddr, State: string(m.State), Rank: int32(m.Rank)}
		if info != nil {
			pm.Version, pm.Hostname, pm.LastSeenUnixMs, pm.MetricsAddr = info.version, info.hostname, info.lastSeen.UnixMilli(), info.metricsAddr
		}
		out.Members = append(out.Members, pm)
	}
	return out, nil
}
