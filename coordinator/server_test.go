package coordinator

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/control"
	"github.com/ringtrain/ringtrain/internal/secret"
	"github.com/ringtrain/ringtrain/internal/testutil"
	"github.com/ringtrain/ringtrain/job"
	"github.com/ringtrain/ringtrain/pki"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "coordinator-tls")
	if err != nil {
		panic(err)
	}
	for _, d := range []string{"a", "b"} {
		if err := pki.Init(filepath.Join(dir, d), pki.Options{}); err != nil {
			panic(err)
		}
	}
	if clusterTLS, err = pki.Load(filepath.Join(dir, "a")); err != nil {
		panic(err)
	}
	if otherTLS, err = pki.Load(filepath.Join(dir, "b")); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// clusterTLS is the test cluster's TLS material; otherTLS another cluster's.
var clusterTLS, otherTLS *pki.Bundle

var testSecret = []byte("0123456789abcdef-coordinator-test")

func startServer(t *testing.T, maxWorkers int) *Server {
	t.Helper()
	spec := job.Default()
	spec.Cluster.MaxWorkers = maxWorkers
	spec.Checkpoint.EveryEpochs = 0 // no checkpoint store
	b, _ := spec.Marshal()
	s, err := Start(Config{Job: spec, JobBytes: b, GRPCAddr: "127.0.0.1:0", GossipAddr: "127.0.0.1", GossipPort: 0,
		Secret: testSecret, RunID: "test", Version: "v1", Tick: 10 * time.Millisecond, TLS: clusterTLS.ServerConfig(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(time.Second) })
	return s
}

func client(t *testing.T, addr string, sec []byte) pb.CoordinatorClient {
	t.Helper()
	tok, _ := secret.ControlToken(sec)
	conn, err := grpc.NewClient(addr, control.DialOptions(clusterTLS.ClientConfig("127.0.0.1"), tok)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return pb.NewCoordinatorClient(conn)
}

func wantCode(t *testing.T, err error, code codes.Code, text string) {
	t.Helper()
	if status.Code(err) != code || !strings.Contains(err.Error(), text) {
		t.Fatalf("got %v, want %v mentioning %q", err, code, text)
	}
}

func TestJoinRefusals(t *testing.T) {
	s := startServer(t, 2)
	ctx := context.Background()
	c := client(t, s.Addr(), testSecret)
	_, err := c.Join(ctx, &pb.JoinRequest{Version: "v2", DataAddr: "x:1"})
	wantCode(t, err, codes.FailedPrecondition, "version mismatch: coordinator runs v1, worker runs v2")
	_, err = c.Join(ctx, &pb.JoinRequest{Version: "v1", DataAddr: "x:1", JobHash: "deadbeef"})
	wantCode(t, err, codes.FailedPrecondition, "job mismatch")
	_, err = c.Join(ctx, &pb.JoinRequest{Version: "v1"})
	wantCode(t, err, codes.InvalidArgument, "data_addr")
	bad := client(t, s.Addr(), []byte("another-secret-entirely!"))
	_, err = bad.Join(ctx, &pb.JoinRequest{Version: "v1", DataAddr: "x:1"})
	wantCode(t, err, codes.Unauthenticated, "cluster secret")
	_, err = bad.Status(ctx, &pb.StatusRequest{})
	wantCode(t, err, codes.Unauthenticated, "cluster secret")
	_, err = c.WatchPlan(ctx, &pb.WatchPlanRequest{WorkerId: "nobody"})
	if err == nil {
		_, err = mustStream(t, c, "nobody").Recv()
	}
	wantCode(t, err, codes.NotFound, "join first")
}

func mustStream(t *testing.T, c pb.CoordinatorClient, id string) pb.Coordinator_WatchPlanClient {
	t.Helper()
	st, err := c.WatchPlan(context.Background(), &pb.WatchPlanRequest{WorkerId: id})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// The whole control-plane life of a run: join, plans, stale reports
// refused, progress visible in Status, done, STOP.
func TestRunLifecycle(t *testing.T) {
	s := startServer(t, 2)
	ctx := context.Background()
	c := client(t, s.Addr(), testSecret)
	var ids []string
	for i := range 2 {
		r, err := c.Join(ctx, &pb.JoinRequest{Version: "v1", DataAddr: "127.0.0.1:" + string(rune('1'+i)), Hostname: "h"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := job.Parse(r.JobSpec); err != nil || job.Hash(r.JobSpec) != r.JobHash || r.GossipSeed == "" {
			t.Fatalf("join response: %v %+v", err, r)
		}
		ids = append(ids, r.WorkerId)
	}
	streams := []pb.Coordinator_WatchPlanClient{mustStream(t, c, ids[0]), mustStream(t, c, ids[1])}
	var gen uint64
	for r, st := range streams {
		p, err := st.Recv()
		if err != nil {
			t.Fatal(err)
		}
		gen = p.Generation
		if p.Action != pb.Plan_ACTION_RUN || p.Rank != int32(r) || p.WorldSize != 2 || p.Generation == 0 || len(p.Peers) != 2 {
			t.Fatalf("worker %d plan %+v", r, p)
		}
	}
	_, err := c.Report(ctx, &pb.ReportRequest{WorkerId: ids[0], Generation: 7, Body: &pb.ReportRequest_Progress{Progress: &pb.Progress{Step: 1}}})
	wantCode(t, err, codes.FailedPrecondition, "stale generation 7")
	if _, err := c.Report(ctx, &pb.ReportRequest{WorkerId: ids[0], Generation: gen, Body: &pb.ReportRequest_Progress{Progress: &pb.Progress{Step: 5, TotalSteps: 10}}}); err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(ctx, &pb.StatusRequest{})
	if err != nil || st.Phase != "running" || st.Progress.GetStep() != 5 || len(st.Members) != 2 || len(st.Events) == 0 {
		t.Fatalf("status %v %+v", err, st)
	}
	if _, err := c.Report(ctx, &pb.ReportRequest{WorkerId: ids[0], Generation: gen, Body: &pb.ReportRequest_Done{Done: &pb.Summary{Steps: 10, TestAccuracy: 0.9}}}); err != nil {
		t.Fatal(err)
	}
	for _, st := range streams {
		p, err := st.Recv()
		if err != nil || p.Action != pb.Plan_ACTION_STOP || p.Failed {
			t.Fatalf("after done: %v %+v", err, p)
		}
	}
	res, err := s.Wait(ctx)
	if err != nil || res.Phase != PhaseDone || res.Summary.GetSteps() != 10 {
		t.Fatalf("%v %+v", err, res)
	}
}

// A worker whose control stream breaks mid-run fails the run, naming it.
func TestBrokenStreamFailsTheRun(t *testing.T) {
	s := startServer(t, 1)
	c := client(t, s.Addr(), testSecret)
	r, err := c.Join(context.Background(), &pb.JoinRequest{Version: "v1", DataAddr: "127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	st, err := c.WatchPlan(ctx, &pb.WatchPlanRequest{WorkerId: r.WorkerId})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := st.Recv(); err != nil || p.Action != pb.Plan_ACTION_RUN {
		t.Fatalf("%v %+v", err, p)
	}
	cancel()
	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer wcancel()
	res, err := s.Wait(wctx)
	if err != nil || res.Phase != PhaseFailed || !strings.Contains(res.Reason, r.WorkerId) || !strings.Contains(res.Reason, "control stream closed") {
		t.Fatalf("%v %+v", err, res)
	}
}

// Generation fencing on checkpoint uploads: a shard from a generation that
// moved on is refused before anything is written.
func TestStaleUploadRefused(t *testing.T) {
	spec := job.Default()
	spec.Cluster.MaxWorkers = 1
	b, _ := spec.Marshal()
	store, err := checkpoint.Open(checkpoint.OSFS{}, t.TempDir(), checkpoint.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(Config{Job: spec, JobBytes: b, GRPCAddr: "127.0.0.1:0", GossipAddr: "127.0.0.1", Secret: testSecret,
		RunID: "fence", Version: "v1", Tick: 10 * time.Millisecond, Checkpoints: store, TLS: clusterTLS.ServerConfig(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(time.Second)
	c := client(t, s.Addr(), testSecret)
	r, err := c.Join(context.Background(), &pb.JoinRequest{Version: "v1", DataAddr: "127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	st := mustStream(t, c, r.WorkerId)
	p, err := st.Recv()
	if err != nil {
		t.Fatal(err)
	}
	up, err := c.UploadShard(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	up.Send(&pb.ShardChunk{Header: &pb.ShardHeader{WorkerId: r.WorkerId, Generation: p.Generation - 1, Step: 10, Rank: 0, WorldSize: 1}})
	up.Send(&pb.ShardChunk{Data: []byte("x"), End: true})
	_, err = up.CloseAndRecv()
	wantCode(t, err, codes.FailedPrecondition, "stale generation")
	if entries, _ := store.List(); len(entries) != 0 {
		t.Fatalf("a stale upload left %d step directories", len(entries))
	}
}

// Loss spikes and stragglers reported by the workers become events in
// Status and anomaly counters.
func TestAnomalyEvents(t *testing.T) {
	run := startRunning(t, 2)
	ctx, c, ids, gen := context.Background(), run.c, run.ids, run.gen
	report := func(rank int, step int64, loss, compute float64) {
		_, err := c.Report(ctx, &pb.ReportRequest{WorkerId: ids[rank], Generation: gen, Rank: int32(rank),
			Body: &pb.ReportRequest_Progress{Progress: &pb.Progress{Step: step, Loss: loss, Timing: &pb.StepTiming{ComputeS: compute}}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, loss := range []float64{1, 0.9, 0.8, 0.75, 0.7, 0.68, 4.2} {
		step := int64(10 * (i + 1))
		report(0, step, loss, 0.010)
		compute := 0.011
		if i == 3 {
			compute = 0.040 // rank 1 is slow in this window
		}
		report(1, step, loss, compute)
	}
	st, err := c.Status(ctx, &pb.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var spike, straggler bool
	for _, e := range st.Events {
		spike = spike || e.Kind == "anomaly" && strings.Contains(e.Message, "loss spike at step 70")
		straggler = straggler || e.Kind == "anomaly" && strings.Contains(e.Message, "straggler at step 40: rank 1")
	}
	if !spike || !straggler {
		t.Fatalf("spike %v straggler %v in %v", spike, straggler, st.Events)
	}
}

// A worker (same data address) that fails again and again is an anomaly.
func TestRepeatedFailuresAnomaly(t *testing.T) {
	s := startServer(t, 2)
	c := client(t, s.Addr(), testSecret)
	for range 3 {
		r, err := c.Join(context.Background(), &pb.JoinRequest{Version: "v1", DataAddr: "127.0.0.1:77"})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		st, err := c.WatchPlan(ctx, &pb.WatchPlanRequest{WorkerId: r.WorkerId})
		if err != nil {
			t.Fatal(err)
		}
		st.Recv()
		cancel() // the control stream breaks: a failure
		deadline := time.Now().Add(3 * time.Second)
		for {
			s.mu.Lock()
			state, _ := s.mu.core.State(r.WorkerId)
			s.mu.Unlock()
			if state == StateFailed || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	st, _ := c.Status(context.Background(), &pb.StatusRequest{})
	for _, e := range st.Events {
		if e.Kind == "anomaly" && strings.Contains(e.Message, "127.0.0.1:77") && strings.Contains(e.Message, "failed 3 times") {
			return
		}
	}
	t.Fatalf("no repeated-failure anomaly in %v", st.Events)
}

// Status shows where each worker computes: the device its Join named, else
// the job's model.device.
func TestStatusShowsEachWorkersDevice(t *testing.T) {
	s := startServer(t, 3)
	ctx := context.Background()
	c := client(t, s.Addr(), testSecret)
	ids := map[string]string{}
	for _, dev := range []string{"gpu:1 NVIDIA H200", "emu", ""} {
		r, err := c.Join(ctx, &pb.JoinRequest{Version: "v1", DataAddr: "127.0.0.1:9", Device: dev})
		if err != nil {
			t.Fatal(err)
		}
		mustStream(t, c, r.WorkerId) // a member once it watches its plans
		ids[r.WorkerId] = dev
	}
	var st *pb.StatusResponse
	testutil.Eventually(t, 10*time.Second, "three members in status", func() bool {
		var err error
		st, err = c.Status(ctx, &pb.StatusRequest{})
		return err == nil && len(st.Members) == 3
	})
	for _, m := range st.Members {
		want := ids[m.WorkerId]
		if want == "" {
			want = "cpu" // the job's default model.device
		}
		if m.Device != want {
			t.Errorf("worker %s: device %q, want %q", m.WorkerId, m.Device, want)
		}
	}
}
