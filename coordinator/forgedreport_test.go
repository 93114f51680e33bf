package coordinator

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"

	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// An admitted worker cannot speak for a rank it does not hold: a standby's
// reports, a rank's report as another rank, and evaluation or done from a
// rank other than 0 are refused (PermissionDenied) and change nothing;
// rank 0's done still ends the run.
func TestForgedReportsAreRefused(t *testing.T) {
	r := startRunning(t, 2) // ranks follow join order: ids[0] is rank 0
	ctx := context.Background()
	j, err := r.c.Join(ctx, &pb.JoinRequest{Version: "v1", DataAddr: "127.0.0.1:30"})
	if err != nil {
		t.Fatal(err)
	}
	mustStream(t, r.c, j.WorkerId)
	standby := j.WorkerId
	done := &pb.ReportRequest_Done{Done: &pb.Summary{Steps: 10}}
	for _, tc := range []struct {
		name string
		req  *pb.ReportRequest
		want string
	}{
		{"standby's done as rank 0", &pb.ReportRequest{WorkerId: standby, Generation: r.gen, Rank: 0, Body: done}, "not ranked"},
		{"standby's progress", &pb.ReportRequest{WorkerId: standby, Generation: r.gen, Rank: 0,
			Body: &pb.ReportRequest_Progress{Progress: &pb.Progress{Step: 5, Loss: 0.1}}}, "not ranked"},
		{"standby's stall", &pb.ReportRequest{WorkerId: standby, Generation: r.gen, Body: &pb.ReportRequest_Stalled{Stalled: "x"}}, "not ranked"},
		{"rank 1 as rank 0", &pb.ReportRequest{WorkerId: r.ids[1], Generation: r.gen, Rank: 0,
			Body: &pb.ReportRequest_Progress{Progress: &pb.Progress{Step: 5, Loss: 0.1}}}, "cannot report as rank 0"},
		{"rank 1's done", &pb.ReportRequest{WorkerId: r.ids[1], Generation: r.gen, Rank: 1, Body: done}, "only rank 0"},
		{"rank 1's evaluation", &pb.ReportRequest{WorkerId: r.ids[1], Generation: r.gen, Rank: 1,
			Body: &pb.ReportRequest_Eval{Eval: &pb.Eval{Step: 5, Accuracy: 1}}}, "only rank 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.c.Report(ctx, tc.req)
			wantCode(t, err, codes.PermissionDenied, tc.want)
			st, err := r.c.Status(ctx, &pb.StatusRequest{})
			if err != nil || st.Phase != "running" || st.Generation != r.gen {
				t.Fatalf("after the refused report: %v phase %q generation %d", err, st.GetPhase(), st.GetGeneration())
			}
			if st.Progress.GetStep() != 0 || st.Eval != nil {
				t.Fatalf("a refused report changed the run's figures: progress %v eval %v", st.Progress, st.Eval)
			}
		})
	}
	if _, err := r.c.Report(ctx, &pb.ReportRequest{WorkerId: r.ids[1], Generation: r.gen, Rank: 1,
		Body: &pb.ReportRequest_Stalled{Stalled: "rank 1 may report a stall"}}); err != nil {
		t.Fatalf("rank 1's own stall report: %v", err)
	}
}

// Rank 0's done ends the run.
func TestRankZeroDoneEndsTheRun(t *testing.T) {
	r := startRunning(t, 2)
	ctx := context.Background()
	if _, err := r.c.Report(ctx, &pb.ReportRequest{WorkerId: r.ids[0], Generation: r.gen, Rank: 0,
		Body: &pb.ReportRequest_Done{Done: &pb.Summary{Steps: 10}}}); err != nil {
		t.Fatal(err)
	}
	res, err := r.s.Wait(ctx)
	if err != nil || res.Phase != PhaseDone {
		t.Fatalf("after rank 0's done: %v %+v", err, res)
	}
}
