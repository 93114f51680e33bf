package coordinator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/internal/fence"
	"github.com/ringtrain/ringtrain/internal/testutil"
	"github.com/ringtrain/ringtrain/job"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// forgedParams is the size of the model in the forged-upload tests.
const forgedParams = 1000

// forge sends one upload with header h (and draft, when not nil) and a
// well-formed shard of h's rank and world size, over the real control
// plane, and returns the coordinator's answer.
func forge(t *testing.T, c pb.CoordinatorClient, h *pb.ShardHeader, draft *checkpoint.Manifest) error {
	t.Helper()
	world, rank := max(1, int(h.WorldSize)), int(h.Rank)
	lo, hi := min(rank, world)*forgedParams/world, min(rank+1, world)*forgedParams/world
	params := make([]float32, hi-lo)
	for i := range params {
		params[i] = -1 // the forger's values
	}
	var shard bytes.Buffer
	if err := checkpoint.EncodeShard(&shard, &checkpoint.Shard{Step: h.Step, Lo: lo, Hi: hi, Params: params}); err != nil {
		t.Fatal(err)
	}
	if draft != nil {
		b, err := json.Marshal(draft)
		if err != nil {
			t.Fatal(err)
		}
		h.Manifest = b
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	up, err := c.UploadShard(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Send(&pb.ShardChunk{Header: h}); err == nil {
		up.Send(&pb.ShardChunk{Data: shard.Bytes(), End: true, Crc32C: crc32c(shard.Bytes())}) // io.EOF when refused: the answer follows
	}
	_, err = up.CloseAndRecv()
	return err
}

// draftOf is rank 0's manifest draft of step for world ranks and a model.
// forgery is one forged upload and the refusal it must get.
type forgery struct {
	name  string
	h     *pb.ShardHeader
	draft *checkpoint.Manifest
	code  codes.Code
	want  string
}

func draftOf(step int64, world int, model string) *checkpoint.Manifest {
	return &checkpoint.Manifest{Step: step, WorldSize: world, ModelSpec: json.RawMessage(model), NumParams: forgedParams,
		Layout: []checkpoint.Tensor{{Name: "w", Shape: []int{forgedParams}}}}
}

// committedSteps lists the store's committed steps and fails on anything
// else in it (a partial or stray step directory).
func committedSteps(t *testing.T, store *checkpoint.Store) []int64 {
	t.Helper()
	entries, err := store.List()
	if err != nil {
		t.Fatal(err)
	}
	var steps []int64
	for _, e := range entries {
		if e.State != checkpoint.Committed {
			t.Fatalf("step %d is %v: a refused upload left it", e.Step, e.State)
		}
		steps = append(steps, e.Step)
	}
	return steps
}

// An admitted worker — a standby one, or a ranked one lying about its
// rank, the world size, the step or the manifest — cannot commit a
// checkpoint: each forgery is refused with a code and a message naming it,
// before anything is written; LATEST, the kept checkpoints and the run stay
// as they were, and the honest ranks' next checkpoint commits. A resumed
// coordinator holds the resumed checkpoint's model and step the same way.
// Real gRPC over mutual TLS, real files.
func TestForgedUploadsAreRefused(t *testing.T) {
	spec := job.Default()
	spec.Cluster.MinWorkers, spec.Cluster.MaxWorkers = 2, 2
	spec.Train.Steps = 100
	spec.Checkpoint = job.Checkpoint{EverySteps: 10, Keep: 2, MaxFailures: 2}
	dir := t.TempDir()
	store, err := checkpoint.Open(checkpoint.OSFS{}, dir, checkpoint.Options{Retention: checkpoint.Retention{Keep: 2}})
	if err != nil {
		t.Fatal(err)
	}
	d := startCheckpointing(t, spec, store, 0)
	ctx := context.Background()
	commit := func(d diskServer, gen uint64, step int64) {
		t.Helper()
		for rank := range 2 {
			if err := uploadShard(t, d.c, d.ids[rank], gen, step, rank, 2, forgedParams); err != nil {
				t.Fatalf("the honest rank %d's shard of step %d: %v", rank, step, err)
			}
		}
	}
	for _, step := range []int64{10, 20, 30} {
		commit(d, d.gen, step)
	}
	// A standby worker (the generation is full), then a re-formation: the
	// generation restores step 30.
	standby, err := d.c.Join(ctx, &pb.JoinRequest{Version: "v1", DataAddr: "127.0.0.1:19"})
	if err != nil {
		t.Fatal(err)
	}
	mustStream(t, d.c, standby.WorkerId)
	if _, err := d.c.Report(ctx, &pb.ReportRequest{WorkerId: d.ids[0], Generation: d.gen,
		Body: &pb.ReportRequest_Stalled{Stalled: "test: re-form"}}); err != nil {
		t.Fatal(err)
	}
	var gen uint64
	testutil.Eventually(t, 10*time.Second, "the generation restoring step 30", func() bool {
		st, err := d.c.Status(ctx, &pb.StatusRequest{})
		gen = st.GetGeneration()
		return err == nil && gen != d.gen && st.GetPhase() == "running"
	})
	w0, w1, w2 := d.ids[0], d.ids[1], standby.WorkerId
	hdr := func(id string, step int64, rank, world int) *pb.ShardHeader {
		return &pb.ShardHeader{WorkerId: id, Generation: gen, Step: step, Rank: int32(rank), WorldSize: int32(world)}
	}
	const (
		cnn        = `{"kind":"cnn","hidden":[120,84],"input":[1,28,28],"classes":10,"loss":"xent"}`
		otherInput = `{"kind":"mlp","hidden":[256],"input":[999],"classes":2,"loss":"xent"}`
	)
	model := string(testModelSpec)
	otherJob := draftOf(40, 2, model)
	otherJob.JobHash = "0123456789abcdef"
	otherStep := draftOf(50, 2, model)
	for _, tc := range []forgery{
		{"a standby worker's whole checkpoint of a far step and another model", hdr(w2, 999999999999, 0, 1), draftOf(999999999999, 1, cnn),
			codes.PermissionDenied, "is standby, not ranked"},
		{"a standby worker's shard of rank 1", hdr(w2, 40, 1, 2), nil, codes.PermissionDenied, "is standby, not ranked"},
		{"rank 1 uploading as rank 0", hdr(w1, 40, 0, 2), draftOf(40, 2, model), codes.PermissionDenied, "holds rank 1"},
		{"rank 0 claiming world size 1", hdr(w0, 40, 0, 1), draftOf(40, 1, model), codes.InvalidArgument, "world size 1"},
		{"rank 0 at step 999999999999", hdr(w0, 999999999999, 0, 2), draftOf(999999999999, 2, model), codes.InvalidArgument, "after the job's last step 100"},
		{"rank 1 at step 999999999999", hdr(w1, 999999999999, 1, 2), nil, codes.InvalidArgument, "after the job's last step 100"},
		{"rank 1 at a step that is no checkpoint", hdr(w1, 45, 1, 2), nil, codes.InvalidArgument, "not a checkpoint step"},
		{"rank 0 at the restored step", hdr(w0, 30, 0, 2), draftOf(30, 2, model), codes.InvalidArgument, "restored step 30"},
		{"rank 0 before the restored step", hdr(w0, 20, 0, 2), draftOf(20, 2, model), codes.InvalidArgument, "restored step 30"},
		{"a manifest from rank 1", hdr(w1, 40, 1, 2), draftOf(40, 2, model), codes.PermissionDenied, "only rank 0"},
		{"a manifest of another model", hdr(w0, 40, 0, 2), draftOf(40, 2, cnn), codes.FailedPrecondition, "another model"},
		{"a manifest of the job's model on other data", hdr(w0, 40, 0, 2), draftOf(40, 2, otherInput), codes.FailedPrecondition, "mismatch"},
		{"a manifest of another step", hdr(w0, 40, 0, 2), otherStep, codes.InvalidArgument, "says step 50"},
		{"a manifest of another job", hdr(w0, 40, 0, 2), otherJob, codes.InvalidArgument, "of job 0123456789ab"},
		{"a manifest of another world size", hdr(w0, 40, 0, 2), draftOf(40, 1, model), codes.InvalidArgument, "world size 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, forge(t, d.c, tc.h, tc.draft), tc.code, tc.want)
			if got := committedSteps(t, store); !slices.Equal(got, []int64{20, 30}) {
				t.Fatalf("committed steps %v, want [20 30] (LATEST and retention untouched)", got)
			}
			if m, w, err := store.Latest(); err != nil || m.Step != 30 || len(w) > 0 {
				t.Fatalf("LATEST: step %d %v %v, want 30", m.Step, w, err)
			}
		})
	}
	for _, step := range []int64{20, 30} {
		if err := store.Verify(step); err != nil {
			t.Fatalf("a kept checkpoint: %v", err)
		}
	}
	st, err := d.c.Status(ctx, &pb.StatusRequest{})
	if err != nil || st.Phase != "running" || st.Generation != gen || st.LatestCheckpoint != 30 {
		t.Fatalf("after the forgeries: %v phase %s generation %d (want %d) latest %d", err, st.GetPhase(), st.GetGeneration(), gen, st.GetLatestCheckpoint())
	}
	if n := checkpointFailures(t, d.s); n != 0 {
		t.Fatalf("ringtrain_checkpoint_failures_total %v: a forgery counted as a failed checkpoint", n)
	}

	// The run goes on: the honest ranks' next checkpoint commits.
	commit(d, gen, 40)
	if got := committedSteps(t, store); !slices.Equal(got, []int64{30, 40}) {
		t.Fatalf("committed steps %v, want [30 40]", got)
	}

	// A coordinator resumed from step 40 holds that checkpoint's model and
	// step: forgeries refused, the honest next checkpoint commits.
	d.s.Close(time.Second)
	resumed, err := checkpoint.Open(checkpoint.OSFS{}, dir, checkpoint.Options{Retention: checkpoint.Retention{Keep: 2}})
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := resumed.Latest()
	if err != nil || m.Step != 40 {
		t.Fatalf("resume: step %d, %v; want 40", m.Step, err)
	}
	r := startCheckpointing(t, spec, resumed, 40)
	for _, tc := range []forgery{
		{"the resumed step", &pb.ShardHeader{WorkerId: r.ids[0], Generation: r.gen, Step: 40, Rank: 0, WorldSize: 2}, draftOf(40, 2, model),
			codes.InvalidArgument, "restored step 40"},
		{"the job's model on other data", &pb.ShardHeader{WorkerId: r.ids[0], Generation: r.gen, Step: 50, Rank: 0, WorldSize: 2}, draftOf(50, 2, otherInput),
			codes.FailedPrecondition, "mismatch"},
	} {
		wantCode(t, forge(t, r.c, tc.h, tc.draft), tc.code, tc.want)
	}
	commit(r, r.gen, 50)
	if got := committedSteps(t, resumed); !slices.Equal(got, []int64{40, 50}) {
		t.Fatalf("after the resumed run's checkpoint: committed steps %v, want [40 50]", got)
	}
	if err := resumed.Verify(50); err != nil {
		t.Fatal(err)
	}
}

// A rank's upload after its generation ended with no newer one formed (a
// worker was lost and too few are left: the run waits) is refused as
// stale — its generation is over, the worker waits for its next plan — not
// as a forgery, which would fail the worker's run.
func TestUploadOfAnEndedGenerationIsStale(t *testing.T) {
	spec := job.Default()
	spec.Cluster.MinWorkers, spec.Cluster.MaxWorkers = 2, 2
	spec.Checkpoint = job.Checkpoint{EverySteps: 10, Keep: 2, MaxFailures: 2}
	store, err := checkpoint.Open(checkpoint.OSFS{}, t.TempDir(), checkpoint.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := spec.Marshal()
	s, err := Start(Config{Job: spec, JobBytes: b, GRPCAddr: "127.0.0.1:0", GossipAddr: "127.0.0.1", Secret: testSecret,
		RunID: "ended", Version: "v1", Tick: 10 * time.Millisecond, Checkpoints: store, TLS: clusterTLS.ServerConfig(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(time.Second)
	c := client(t, s.Addr(), testSecret)
	ctx := context.Background()
	var ids []string
	var cancels []context.CancelFunc
	var gen uint64
	for i := range 2 {
		r, err := c.Join(ctx, &pb.JoinRequest{Version: "v1", DataAddr: fmt.Sprintf("127.0.0.1:%d", 41+i)})
		if err != nil {
			t.Fatal(err)
		}
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		st, err := c.WatchPlan(sctx, &pb.WatchPlanRequest{WorkerId: r.WorkerId})
		if err != nil {
			t.Fatal(err)
		}
		for i == 1 && gen == 0 {
			p, err := st.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if p.Action == pb.Plan_ACTION_RUN {
				gen = p.Generation
			}
		}
		ids, cancels = append(ids, r.WorkerId), append(cancels, cancel)
	}
	cancels[1]() // rank 1's control stream breaks: one worker is left, below min_workers
	testutil.Eventually(t, 10*time.Second, "the run waiting for workers", func() bool {
		st, err := c.Status(ctx, &pb.StatusRequest{})
		return err == nil && st.Phase == string(PhaseWaiting) && st.Generation == gen
	})
	err = uploadShard(t, c, ids[0], gen, 10, 0, 2, forgedParams)
	if !fence.IsStale(err) || !strings.Contains(err.Error(), "has ended") {
		t.Fatalf("rank 0's upload after its generation ended: %v, want the stale-generation refusal", err)
	}
	if entries, err := store.List(); err != nil || len(entries) != 0 {
		t.Fatalf("the store after the refusal: %v %v, want empty", entries, err)
	}
}
