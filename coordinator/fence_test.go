package coordinator

import (
	"context"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/internal/fence"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// Reports of a generation the run has left are refused with the typed
// stale-generation refusal and change nothing, a failure report included
// (that generation is over); a failure outside any generation (the
// worker's setup, generation 0) still fails the run.
func TestStaleReportsRefused(t *testing.T) {
	s := startServer(t, 1)
	ctx := context.Background()
	c := client(t, s.Addr(), testSecret)
	r, err := c.Join(ctx, &pb.JoinRequest{Version: "v1", DataAddr: "127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := mustStream(t, c, r.WorkerId).Recv()
	if err != nil || p.Action != pb.Plan_ACTION_RUN {
		t.Fatalf("%v %+v", err, p)
	}
	old := p.Generation - 1
	id := r.WorkerId
	for _, tc := range []struct {
		name  string
		req   *pb.ReportRequest
		stale bool
	}{
		{"progress", &pb.ReportRequest{WorkerId: id, Generation: old, Body: &pb.ReportRequest_Progress{Progress: &pb.Progress{Step: 10}}}, true},
		{"eval", &pb.ReportRequest{WorkerId: id, Generation: old, Body: &pb.ReportRequest_Eval{Eval: &pb.Eval{Step: 10}}}, true},
		{"done", &pb.ReportRequest{WorkerId: id, Generation: old, Body: &pb.ReportRequest_Done{Done: &pb.Summary{Steps: 10}}}, true},
		{"stalled", &pb.ReportRequest{WorkerId: id, Generation: old, Body: &pb.ReportRequest_Stalled{Stalled: "no progress"}}, true},
		{"failure", &pb.ReportRequest{WorkerId: id, Generation: old, Body: &pb.ReportRequest_Failure{Failure: "checkpoint at step 10: refused"}}, true},
		{"trace", &pb.ReportRequest{WorkerId: id, Generation: old, Body: &pb.ReportRequest_Trace{Trace: []byte("[]")}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Report(ctx, tc.req)
			if fence.IsStale(err) != tc.stale {
				t.Fatalf("a %s report of an old generation: %v (want refused as stale: %v)", tc.name, err, tc.stale)
			}
			if !tc.stale && err != nil {
				t.Fatal(err)
			}
			st, err := c.Status(ctx, &pb.StatusRequest{})
			if err != nil || st.Phase != "running" || st.Generation != p.Generation {
				t.Fatalf("after a stale %s report: %v phase %q generation %d", tc.name, err, st.GetPhase(), st.GetGeneration())
			}
		})
	}
	if _, err := c.Report(ctx, &pb.ReportRequest{WorkerId: r.WorkerId, Body: &pb.ReportRequest_Failure{Failure: "bad data file"}}); err != nil {
		t.Fatal(err)
	}
	res, err := s.Wait(ctx)
	if err != nil || res.Phase != PhaseFailed || !strings.Contains(res.Reason, "bad data file") {
		t.Fatalf("a setup failure (generation 0): %v %+v", err, res)
	}
}
