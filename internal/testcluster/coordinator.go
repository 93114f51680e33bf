package testcluster

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/control"
	"github.com/ringtrain/ringtrain/coordinator"
	"github.com/ringtrain/ringtrain/internal/secret"
	"github.com/ringtrain/ringtrain/job"
)

// Version is the software version the coordinator runs and Join sends.
const Version = "v1"

// DefaultSecret is the cluster secret of a coordinator started without one.
const DefaultSecret = "testcluster-secret-0123456789abcdef"

// Options are a test coordinator's settings; zero values take the defaults.
type Options struct {
	// Addr is the gRPC address to listen on (default 127.0.0.1:0).
	Addr string
	// Secret is the cluster secret (default DefaultSecret).
	Secret []byte
	// RunID names the run (default "test").
	RunID string
	// Logger gets the coordinator's logs (default: discarded).
	Logger *slog.Logger
}

// Coordinator is a running coordinator and a client dialed to it. The test's
// cleanup closes both.
type Coordinator struct {
	Server *coordinator.Server
	Store  *checkpoint.Store // in a temporary directory of the test
	Addr   string            // the gRPC address it listens on
	Secret []byte
	Token  string          // the control-plane bearer token of Secret
	Client *control.Client // dialed to Addr with Token, plaintext
}

// StartCoordinator starts a real coordinator of spec: plaintext gRPC on
// opt.Addr, a memberlist node on loopback, a 10 ms tick, and a checkpoint
// store on disk in a temporary directory of the test. It fails the test
// when any of that cannot be set up.
func StartCoordinator(t testing.TB, spec job.Spec, opt Options) *Coordinator {
	t.Helper()
	if opt.Addr == "" {
		opt.Addr = "127.0.0.1:0"
	}
	if opt.Secret == nil {
		opt.Secret = []byte(DefaultSecret)
	}
	if opt.RunID == "" {
		opt.RunID = "test"
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	b, err := spec.Marshal()
	if err != nil {
		t.Fatalf("test coordinator: the job: %v", err)
	}
	store, err := checkpoint.Open(checkpoint.OSFS{}, t.TempDir(), checkpoint.DefaultOptions())
	if err != nil {
		t.Fatalf("test coordinator: checkpoint store: %v", err)
	}
	srv, err := coordinator.Start(coordinator.Config{Job: spec, JobBytes: b, GRPCAddr: opt.Addr, GossipAddr: "127.0.0.1",
		Secret: opt.Secret, Insecure: true, RunID: opt.RunID, Version: Version, Tick: 10 * time.Millisecond,
		Checkpoints: store, Logger: opt.Logger})
	if err != nil {
		t.Fatalf("test coordinator: %v", err)
	}
	t.Cleanup(func() { srv.Close(time.Second) })
	c := &Coordinator{Server: srv, Store: store, Addr: srv.Addr(), Secret: opt.Secret, Token: Token(t, opt.Secret)}
	c.Client = Dial(t, c.Addr, opt.Secret)
	return c
}

// Token is the control-plane bearer token of the cluster secret sec.
func Token(t testing.TB, sec []byte) string {
	t.Helper()
	tok, err := secret.ControlToken(sec)
	if err != nil {
		t.Fatalf("control token: %v", err)
	}
	return tok
}

// Dial returns a plaintext control.Client for addr with the token of the
// cluster secret sec, closed by the test's cleanup. Nothing needs to listen
// on addr yet: the client connects when first used.
func Dial(t testing.TB, addr string, sec []byte) *control.Client {
	t.Helper()
	c, err := control.Dial(addr, nil, Token(t, sec))
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// OneWorkerJob is the default job for one worker (max_workers 1: its join
// forms the first generation at once) that checkpoints every 10 steps,
// keeps 3 checkpoints and fails the run after 5 failed ones.
func OneWorkerJob() job.Spec {
	spec := job.Default()
	spec.Cluster.MaxWorkers = 1
	spec.Checkpoint = job.Checkpoint{EverySteps: 10, Keep: 3, MaxFailures: 5}
	return spec
}
