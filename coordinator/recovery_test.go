package coordinator

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/job"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// A recovery over gRPC: a ranked worker's stream breaks, the survivors form
// the next generation, and rank 0's first progress in it ends the recovery:
// the events come in that order (failure, generation, recovered, once),
// progress of the ended generation is refused and ends nothing, and the
// metrics mirror counts one failure and one recovery.
func TestRecoveryEventsAndMetrics(t *testing.T) {
	spec := job.Default()
	spec.Cluster.MaxWorkers = 2
	b, _ := spec.Marshal()
	store, err := checkpoint.Open(checkpoint.OSFS{}, t.TempDir(), checkpoint.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(Config{Job: spec, JobBytes: b, GRPCAddr: "127.0.0.1:0", GossipAddr: "127.0.0.1", Secret: testSecret,
		RunID: "recovery", Version: "v1", Tick: 10 * time.Millisecond, Checkpoints: store, TLS: clusterTLS.ServerConfig(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(time.Second)
	ctx := context.Background()
	c := client(t, s.Addr(), testSecret)
	var ids []string
	cancels := map[string]context.CancelFunc{}
	for _, addr := range []string{"127.0.0.1:31", "127.0.0.1:32", "127.0.0.1:33"} {
		r, err := c.Join(ctx, &pb.JoinRequest{Version: "v1", DataAddr: addr})
		if err != nil {
			t.Fatal(err)
		}
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		st, err := c.WatchPlan(sctx, &pb.WatchPlanRequest{WorkerId: r.WorkerId})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Recv(); err != nil {
			t.Fatal(err)
		}
		ids, cancels[r.WorkerId] = append(ids, r.WorkerId), cancel
	}
	status := func() *pb.StatusResponse {
		st, err := c.Status(ctx, &pb.StatusRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	first := status().Generation
	progress := func(id string, gen uint64, step int64) error {
		_, err := c.Report(ctx, &pb.ReportRequest{WorkerId: id, Generation: gen, Rank: 0,
			Body: &pb.ReportRequest_Progress{Progress: &pb.Progress{Step: step, Loss: 1}}})
		return err
	}
	if err := progress(ids[0], first, 10); err != nil {
		t.Fatal(err)
	}

	cancels[ids[0]]() // rank 0's control stream breaks: a failure
	var next uint64
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if st := status(); st.Generation != first && st.Phase == "running" {
			next = st.Generation
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no next generation after the failure: %+v", status())
		}
	}
	wantCode(t, progress(ids[0], first, 20), codes.FailedPrecondition, "stale generation")
	for step := int64(10); step <= 30; step += 10 {
		if err := progress(ids[1], next, step); err != nil { // ids[1] is rank 0 of the next generation
			t.Fatal(err)
		}
	}

	var kinds []string
	for _, e := range status().Events {
		switch EventKind(e.Kind) {
		case EventFailure, EventGeneration, EventRecovered:
			kinds = append(kinds, e.Kind)
			if e.Kind == "recovered" && !strings.Contains(e.Message, "running") {
				t.Errorf("recovered event %q", e.Message)
			}
		}
	}
	if want := []string{"generation", "failure", "generation", "recovered"}; !slices.Equal(kinds, want) {
		t.Fatalf("events %q, want %q", kinds, want)
	}
	reg := s.metrics.Registry
	for _, m := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"ringtrain_failures_total", nil, 1},
		{"ringtrain_recoveries_total", nil, 1},
		{"ringtrain_generation", nil, float64(next)},
		{"ringtrain_world_size", nil, 2},
		{"ringtrain_members", []string{"state", "ranked"}, 2},
		{"ringtrain_members", []string{"state", "failed"}, 1},
		{"ringtrain_step", nil, 30},
	} {
		if got := metricValue(t, reg, m.name, m.labels...); got != m.want {
			t.Errorf("%s%v = %v, want %v", m.name, m.labels, got, m.want)
		}
	}
}
