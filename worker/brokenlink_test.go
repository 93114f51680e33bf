package worker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/coordinator"
	"github.com/ringtrain/ringtrain/internal/testutil"
	"github.com/ringtrain/ringtrain/job"
)

// A generation whose links broke (a peer lost) while nobody died — the
// coordinator sees every control stream alive and sends no plan — is
// reported stalled after cluster.step_timeout, so the coordinator re-forms
// it instead of every rank waiting forever; when the next plan comes first,
// nothing is reported. Against a real coordinator.
func TestBrokenLinkWithoutANewPlanIsReportedStalled(t *testing.T) {
	lost := fmt.Errorf("allreduce: ring call 3: tcp: recv from rank 1: connection reset by peer: %w", allreduce.ErrPeerLost)
	for _, tc := range []struct {
		name     string
		replan   bool // the generation's context ends (a new plan) before the step timeout
		reformed bool
	}{
		{"no new plan", false, true},
		{"a new plan first", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startLiveRun(t)
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			spec := job.Default()
			spec.Cluster.StepTimeout = 300 * time.Millisecond
			g := &generations{spec: spec, rep: newReporter(r.Client, r.ID, log), log: log, client: r.Client, id: r.ID}
			ctx, cancel := context.WithCancel(context.Background())
			if tc.replan {
				cancel()
			}
			start := time.Now()
			g.ended(ctx, r.Plan, lost)
			cancel()
			if waited := time.Since(start); tc.reformed && waited < spec.Cluster.StepTimeout {
				t.Fatalf("reported after %v, before the step timeout %v", waited, spec.Cluster.StepTimeout)
			}
			g.rep.close(5 * time.Second) // delivers what ended queued
			gen := func() uint64 {
				st, err := r.Client.Status(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if st.Phase == string(coordinator.PhaseFailed) {
					t.Fatalf("the run failed: %s", st.Error)
				}
				return st.Generation
			}
			if tc.reformed {
				testutil.Eventually(t, 5*time.Second, "a new generation", func() bool { return gen() > r.Plan.Generation })
				return
			}
			time.Sleep(200 * time.Millisecond) // what a stall report would take to act
			if g := gen(); g != r.Plan.Generation {
				t.Fatalf("generation %d after a broken link that a new plan followed, want %d unchanged", g, r.Plan.Generation)
			}
		})
	}
}
