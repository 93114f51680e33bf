package coordinator

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ringtrain/ringtrain/internal/fence"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
	"github.com/ringtrain/ringtrain/telemetry"
)

// Report implements the Coordinator service. It is a sequence of steps,
// each handing the report to its owner: accept it (fence), write its trace,
// tell the report observers (board, history, metrics, anomaly detectors),
// note a recovery, apply it to the core, then the OnReport hook.
func (s *Server) Report(ctx context.Context, req *pb.ReportRequest) (*pb.ReportResponse, error) {
	a, recovery, recovered, err := s.accept(req)
	if err != nil {
		return nil, err
	}
	if err := s.addTrace(req); err != nil {
		return nil, err
	}
	for _, o := range s.reportObservers {
		o.observeReport(a)
	}
	if recovered {
		s.metrics.recovered(recovery)
		s.record(EventRecovered, fmt.Sprintf("generation %d running, %v after the failure", a.generation, recovery.Round(time.Millisecond)))
	}
	if r := req.GetProgress().GetRestored(); r != nil && req.Rank == 0 {
		s.record(EventRestored, describeRestored(a.generation, r))
	}
	s.apply(req)
	if s.cfg.OnReport != nil && req.Rank == 0 {
		s.cfg.OnReport(req)
	}
	return &pb.ReportResponse{}, nil
}

// accept checks that the worker joined and fences the report against the
// core's generation, under Server.mu. Traces are history: any generation.
// A failure outside any generation (generation 0: the worker's setup)
// always counts; one of a generation the run has left does not: that
// generation is over, and a fault of the worker's own recurs in its next
// one. Rank 0's progress ends the recovery under way, if any (so a report
// accepted before a failure never ends the recovery after it).
func (s *Server) accept(req *pb.ReportRequest) (a accepted, recovery time.Duration, recovered bool, err error) {
	if !s.workers.known(req.WorkerId) {
		return accepted{}, 0, false, status.Error(codes.NotFound, errNotJoined.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mu.core
	_, isFailure := req.Body.(*pb.ReportRequest_Failure)
	_, isTrace := req.Body.(*pb.ReportRequest_Trace)
	if req.Generation != c.Generation() && !isTrace && !(isFailure && req.Generation == 0) {
		return accepted{}, 0, false, fence.Refuse(req.Generation, c.Generation())
	}
	if !isTrace && !(isFailure && req.Generation == 0) {
		if err := checkReporter(c, req); err != nil {
			return accepted{}, 0, false, err
		}
	}
	now := time.Now()
	s.workers.seen(req.WorkerId, now)
	a = accepted{req: req, generation: c.Generation()}
	if req.GetProgress() != nil {
		a.ranks = c.Ranks()
		if req.Rank == 0 {
			recovery, recovered = s.recovery.finish(now)
		}
	}
	return a, recovery, recovered, nil
}

// checkReporter refuses a report of the current generation from a worker
// that is not ranked in it, that claims another rank than its own, or that
// speaks for the generation (evaluation, done) without being rank 0: an
// admitted standby or another rank cannot end the run as done or forge
// rank 0's figures. A report of a generation that ended without a newer
// one (the run waits for workers) gets the typed refusal the worker waits
// on, as its upload would.
func checkReporter(c *Core, req *pb.ReportRequest) error {
	m, _ := c.Member(req.WorkerId)
	switch {
	case m.State != StateRanked && c.WorldSize() == 0:
		return fence.RefuseEnded(c.Generation())
	case m.State != StateRanked:
		return status.Errorf(codes.PermissionDenied, "worker %s is %s, not ranked, in generation %d: only the generation's ranks report", m.ID, m.State, c.Generation())
	case int(req.Rank) != m.Rank:
		return status.Errorf(codes.PermissionDenied, "worker %s holds rank %d of generation %d: it cannot report as rank %d", m.ID, m.Rank, c.Generation(), req.Rank)
	}
	switch req.Body.(type) {
	case *pb.ReportRequest_Eval, *pb.ReportRequest_Done:
		if m.Rank != 0 {
			return status.Errorf(codes.PermissionDenied, "worker %s holds rank %d: only rank 0 reports the evaluation and the end of the run", m.ID, m.Rank)
		}
	}
	return nil
}

// addTrace hands a trace report's events to the trace writer (if the run
// is traced).
func (s *Server) addTrace(req *pb.ReportRequest) error {
	b, ok := req.Body.(*pb.ReportRequest_Trace)
	if !ok || s.cfg.Trace == nil {
		return nil
	}
	var events []telemetry.TraceEvent
	if err := json.Unmarshal(b.Trace, &events); err != nil {
		return status.Errorf(codes.InvalidArgument, "trace events: %v", err)
	}
	if err := s.cfg.Trace.Add(req.WorkerId, events); err != nil {
		s.log.Warn("trace not written", "err", err)
	}
	return nil
}

// apply gives the core what the report decides: the run is done, failed,
// or its generation stalled. The generation is checked again under the
// lock, as accept did: one that ended in between decides nothing.
func (s *Server) apply(req *pb.ReportRequest) {
	switch b := req.Body.(type) {
	case *pb.ReportRequest_Done:
		s.update(func(c *Core) {
			if req.Generation == c.Generation() {
				c.Done()
			}
		})
	case *pb.ReportRequest_Failure:
		s.update(func(c *Core) {
			if req.Generation == 0 || req.Generation == c.Generation() {
				c.Failure(req.WorkerId, b.Failure)
			}
		})
	case *pb.ReportRequest_Stalled:
		s.update(func(c *Core) { c.Stalled(req.Generation, req.WorkerId+": "+b.Stalled) })
	}
}

// anomaly counts a finding of the detectors and publishes it as an event.
func (s *Server) anomaly(a anomaly) {
	s.metrics.anomaly(a.kind)
	s.record(EventAnomaly, a.message)
}

// describeRestored is the restored event's message.
func describeRestored(gen uint64, r *pb.Restored) string {
	return fmt.Sprintf("generation %d resumed %s", gen, RestoreSummary(r))
}

// RestoreSummary says where a generation's state came from and how many
// completed steps that cost ("from checkpoint step 300, 32 completed steps
// lost: why"), for events and `ringtrain status`.
func RestoreSummary(r *pb.Restored) string {
	var from string
	switch r.Source {
	case "replicas":
		from = fmt.Sprintf("from the previous generation's live state and replicas (world size %d) at step %d", r.PreviousWorld, r.Step)
	case "checkpoint":
		from = fmt.Sprintf("from checkpoint step %d", r.Step)
	default:
		from = "from the start"
	}
	msg := fmt.Sprintf("%s, %d completed steps lost", from, r.LostSteps)
	if r.Detail != "" {
		msg += ": " + r.Detail
	}
	return msg
}
