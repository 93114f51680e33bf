package control_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/control"
	"github.com/ringtrain/ringtrain/coordinator"
	"github.com/ringtrain/ringtrain/internal/secret"
	"github.com/ringtrain/ringtrain/job"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// Every goroutine the tests start (clients, coordinators, streams) has
// ended when they have.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var testSecret = []byte("control-test-secret-0123456789abcdef")

func token(t testing.TB) string {
	t.Helper()
	tok, err := secret.ControlToken(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// startCoordinator starts a real coordinator (plaintext gRPC on addr, a
// memberlist node, a checkpoint store in a temporary directory) of a
// one-worker job that checkpoints.
func startCoordinator(t testing.TB, addr string) (*coordinator.Server, *checkpoint.Store) {
	t.Helper()
	spec := job.Default()
	spec.Cluster.MaxWorkers = 1
	spec.Checkpoint = job.Checkpoint{EverySteps: 10, Keep: 3, MaxFailures: 5}
	b, err := spec.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	store, err := checkpoint.Open(checkpoint.OSFS{}, t.TempDir(), checkpoint.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := coordinator.Start(coordinator.Config{Job: spec, JobBytes: b, GRPCAddr: addr, GossipAddr: "127.0.0.1",
		Secret: testSecret, Insecure: true, RunID: "control", Version: "v1", Tick: 10 * time.Millisecond, Checkpoints: store,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(time.Second) })
	return srv, store
}

func dial(t testing.TB, addr string) *control.Client {
	t.Helper()
	c, err := control.Dial(addr, nil, token(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// joined is a worker admitted to a running generation.
type joined struct {
	client *control.Client
	addr   string // the coordinator's
	store  *checkpoint.Store
	id     string
	gen    uint64
}

// joinRun starts a coordinator, joins it and waits for the first plan.
func joinRun(t *testing.T) joined {
	t.Helper()
	srv, store := startCoordinator(t, "127.0.0.1:0")
	c := dial(t, srv.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	resp, err := c.Join(ctx, &pb.JoinRequest{Version: "v1", DataAddr: "127.0.0.1:9"}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	plans, err := c.WatchPlan(ctx, resp.WorkerId)
	if err != nil {
		t.Fatal(err)
	}
	for {
		p, err := plans.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if p.Action == pb.Plan_ACTION_RUN {
			return joined{client: c, addr: srv.Addr(), store: store, id: resp.WorkerId, gen: p.Generation}
		}
	}
}
