package testcluster

import (
	"context"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/control"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// JoinTimeout is how long Join lets control.Client.Join retry an
// unreachable coordinator.
const JoinTimeout = 10 * time.Second

// Joined is a worker admitted to a running generation.
type Joined struct {
	Resp *pb.JoinResponse // the coordinator's answer (worker id, data key, ...)
	ID   string           // Resp.WorkerId
	Plan *pb.Plan         // the first RUN plan
	// Waits counts the WAIT plans that came before Plan (0 when the join
	// completed the job's max_workers, which forms the generation at once).
	Waits int
}

// Join joins the coordinator behind client as a worker of version Version
// (data address 127.0.0.1:9: nothing is sent to it), watches its plans and
// waits for the first RUN plan. The plan stream stays open, so the worker
// stays a member, until ctx is done or the test ends. A STOP plan, a broken
// stream or a refused join fails the test.
func Join(t testing.TB, ctx context.Context, client *control.Client) *Joined {
	t.Helper()
	resp, err := client.Join(ctx, &pb.JoinRequest{Version: Version, DataAddr: "127.0.0.1:9"}, JoinTimeout)
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	plans, err := client.WatchPlan(ctx, resp.WorkerId)
	if err != nil {
		t.Fatalf("watch plans of %s: %v", resp.WorkerId, err)
	}
	j := &Joined{Resp: resp, ID: resp.WorkerId}
	for {
		p, err := plans.Recv()
		switch {
		case err != nil:
			t.Fatalf("plans of %s: %v", j.ID, err)
		case p.Action == pb.Plan_ACTION_RUN:
			j.Plan = p
			return j
		case p.Action == pb.Plan_ACTION_WAIT:
			j.Waits++
		default:
			t.Fatalf("plans of %s: %v before a RUN plan (%+v)", j.ID, p.Action, p)
		}
	}
}
