package worker

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ringtrain/ringtrain/coordinator"
	"github.com/ringtrain/ringtrain/internal/testcluster"
	"github.com/ringtrain/ringtrain/internal/testutil"
	"github.com/ringtrain/ringtrain/job"
	"github.com/ringtrain/ringtrain/telemetry"
	"github.com/ringtrain/ringtrain/transport/tcp"
)

var generationSecret = []byte("worker-generation-test-secret-012345")

// The worker's generation logic (restore, train, checkpoint, report done)
// over its Control interface, against a real coordinator and checkpoint
// store in this process, through the gRPC client (control.Client): what
// was covered only by the process tests. A checkpoint of step 10, uploaded
// by the worker's uploader, restores a generation that trains on to step 20
// bitwise identically to a run that never stopped; a checkpoint of another
// model, or of a step never committed, is refused naming it.
func TestGenerationRestoresOverControl(t *testing.T) {
	spec := testSpec("adamw") // 20 steps
	spec.Cluster.MaxWorkers = 1
	spec.Checkpoint = job.Checkpoint{EverySteps: 10, Keep: 3, MaxFailures: 3}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	coord := testcluster.StartCoordinator(t, spec, testcluster.Options{Secret: generationSecret, RunID: "generation", Logger: log})
	srv, store := coord.Server, coord.Store
	var ctl Control = coord.Client
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	j := testcluster.Join(t, ctx, coord.Client)
	joined, plan := j.Resp, j.Plan
	if j.Waits != 0 || plan.WorldSize != 1 {
		t.Fatalf("first plan: %d WAIT plans before %+v", j.Waits, plan)
	}

	// The checkpoint of step 10, as a generation's uploader sends it; and
	// the parameters of a run that never stops.
	group(t, spec, 1, func(_ int, tr *Trainer) error {
		if err := steps(10)(ctx, tr); err != nil {
			return err
		}
		snap := tr.Snapshot()
		m, err := tr.Manifest(snap.Step, snap.Cursor)
		if err != nil {
			return err
		}
		up := &uploader{client: ctl, log: log, id: joined.WorkerId, gen: plan.Generation, rank: 0, world: 1}
		if err := up.Save(ctx, snap, &m); err != nil {
			return err
		}
		return up.Flush(ctx)
	})
	if _, err := store.Load(10); err != nil {
		t.Fatalf("the uploaded checkpoint was not committed: %v", err)
	}
	want := train(t, spec, 1, steps(20))

	ln, err := tcp.Listen("127.0.0.1:0", tcp.DefaultConfig(generationSecret))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := ln.SetSessionKey(joined.DataKey); err != nil {
		t.Fatal(err)
	}
	g := &generations{ln: ln, spec: spec, corpus: mnistCorpus(t), rep: newReporter(ctl, joined.WorkerId, log), log: log,
		client: ctl, id: joined.WorkerId, metrics: telemetry.NewWorker(), live: newLiveState()}
	deliver := sync.OnceFunc(func() { g.rep.close(10 * time.Second) })
	defer deliver()

	other := spec
	other.Model.Hidden = []int{16}
	for _, tc := range []struct {
		name    string
		spec    job.Spec
		step    int64
		wantErr string
		code    codes.Code
	}{
		{name: "a checkpoint of another model", spec: other, step: 10, wantErr: "restore step 10: the checkpoint is of another model", code: codes.Unknown},
		{name: "a step never committed", spec: spec, step: 15, wantErr: "restore step 15: ", code: codes.NotFound},
		{name: "the step-10 checkpoint", spec: spec, step: 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			group(t, tc.spec, 1, func(_ int, tr *Trainer) error {
				err := g.restore(ctx, tr, tc.step)
				switch {
				case tc.wantErr == "" && err != nil:
					t.Errorf("restore: %v", err)
				case tc.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) || status.Code(err) != tc.code):
					t.Errorf("restore: %v (%v), want %v %q", err, status.Code(err), tc.code, tc.wantErr)
				case tc.wantErr == "" && (tr.Steps() != 10 || tr.opt.Steps() != 10):
					t.Errorf("restored at step %d, optimizer step %d; want 10", tr.Steps(), tr.opt.Steps())
				}
				return nil
			})
		})
	}

	// The whole generation: restore step 10, train to 20, checkpoint, done.
	plan.RestoreStep = 10
	if err := g.run(ctx, plan); err != nil {
		t.Fatalf("generation: %v", err)
	}
	deliver() // rank 0's done
	res, err := srv.Wait(ctx)
	if err != nil || res.Phase != coordinator.PhaseDone || res.Summary.GetSteps() != 20 {
		t.Fatalf("the run ended %v %+v, want done after 20 steps", err, res)
	}
	m, err := store.Load(20)
	if err != nil {
		t.Fatalf("the final checkpoint: %v", err)
	}
	got, _, err := store.ReadRange(m, 0, m.NumParams)
	if err != nil {
		t.Fatal(err)
	}
	if !testutil.BitsEqual(got, want) {
		t.Fatal("the final checkpoint of the restored generation differs from a run that never stopped")
	}
}
