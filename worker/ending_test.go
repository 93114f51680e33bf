package worker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/control"
	"github.com/ringtrain/ringtrain/coordinator"
	"github.com/ringtrain/ringtrain/internal/secret"
	"github.com/ringtrain/ringtrain/job"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

var endingSecret = []byte("worker-ending-test-secret-0123456789")

// liveRun is a real coordinator (gRPC, memberlist, a checkpoint store on
// disk) with one joined worker whose first generation is running.
type liveRun struct {
	srv    *coordinator.Server
	store  *checkpoint.Store
	client *control.Client
	id     string
	plan   *pb.Plan
}

func dial(t *testing.T, addr string) *control.Client {
	t.Helper()
	tok, err := secret.ControlToken(endingSecret)
	if err != nil {
		t.Fatal(err)
	}
	c, err := control.Dial(addr, nil, tok)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func startLiveRun(t *testing.T) *liveRun {
	t.Helper()
	spec := job.Default()
	spec.Cluster.MaxWorkers = 1
	b, err := spec.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	store, err := checkpoint.Open(checkpoint.OSFS{}, t.TempDir(), checkpoint.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := coordinator.Start(coordinator.Config{Job: spec, JobBytes: b, GRPCAddr: "127.0.0.1:0", GossipAddr: "127.0.0.1",
		Secret: endingSecret, Insecure: true, RunID: "ending", Version: "v1", Tick: 10 * time.Millisecond, Checkpoints: store,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(time.Second) })
	r := &liveRun{srv: srv, store: store, client: dial(t, srv.Addr())}
	joined, err := r.client.Join(context.Background(), &pb.JoinRequest{Version: "v1", DataAddr: "127.0.0.1:9"}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r.id = joined.WorkerId
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	stream, err := r.client.WatchPlan(ctx, r.id)
	if err != nil {
		t.Fatal(err)
	}
	if r.plan, err = stream.Recv(); err != nil || r.plan.Action != pb.Plan_ACTION_RUN {
		t.Fatalf("first plan: %v %+v", err, r.plan)
	}
	return r
}

// upload sends a snapshot of n parameters (and as many of one optimizer
// state) as the worker's uploader does, for generation gen, over client.
func upload(client Control, id string, gen uint64, n int) error {
	ctx := context.Background()
	up := &uploader{client: client, log: slog.New(slog.NewTextHandler(io.Discard, nil)), id: id, gen: gen, rank: 0, world: 1}
	snap := Snapshot{Step: 10, Lo: 0, Hi: n, Params: make([]float32, n), States: map[string][]float32{"m": make([]float32, n)}}
	if err := up.Save(ctx, snap, nil); err != nil {
		return err
	}
	return up.Flush(ctx)
}

// closedAddr is a local address nobody listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// How a generation's end is handled, against a real coordinator: a
// checkpoint upload refused because the run moved to a newer generation
// (small or large: a large one is refused while it is still streaming), or
// one that cannot reach the coordinator, does not fail the run (issue 11,
// defect 4: "run failed: worker …: checkpoint at step 400: … stale
// generation", or "…: EOF"); a fault of the worker's own does.
func TestGenerationEndings(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  func(t *testing.T, r *liveRun) error
		want ending
	}{
		{"a stale upload", func(t *testing.T, r *liveRun) error {
			return upload(r.client, r.id, r.plan.Generation-1, 1000)
		}, endStale},
		{"a stale upload of several chunks", func(t *testing.T, r *liveRun) error {
			return upload(r.client, r.id, r.plan.Generation-1, 3<<20)
		}, endStale},
		{"an upload that cannot reach the coordinator", func(t *testing.T, r *liveRun) error {
			return upload(dial(t, closedAddr(t)), r.id, r.plan.Generation, 1000)
		}, endControl},
		{"a fault of the worker's own", func(t *testing.T, r *liveRun) error {
			return errors.New("data: label 12 of sample 7 is not below classes 10")
		}, endFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startLiveRun(t)
			err := tc.err(t, r)
			if err == nil {
				t.Fatal("no error")
			}
			if got := classify(err); got != tc.want {
				t.Fatalf("classify(%v) = %v, want %v", err, got, tc.want)
			}
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			g := &generations{rep: newReporter(r.client, r.id, log), log: log, client: r.client, id: r.id}
			g.ended(r.plan, err)
			g.rep.close(5 * time.Second) // delivers what ended queued
			st, serr := r.client.Status(context.Background())
			if serr != nil {
				t.Fatal(serr)
			}
			failed := st.Phase == string(coordinator.PhaseFailed)
			if failed != (tc.want == endFailed) {
				t.Fatalf("after %q: phase %s (%s), want a failed run: %v", err, st.Phase, st.Error, tc.want == endFailed)
			}
			if failed && !strings.Contains(st.Error, "label 12") {
				t.Fatalf("the run failed with %q, not the worker's reason", st.Error)
			}
			if entries, _ := r.store.List(); len(entries) != 0 {
				t.Fatalf("a refused upload left %d step directories", len(entries))
			}
		})
	}
}
