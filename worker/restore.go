package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/data"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// restore loads checkpoint step into tr: the full parameters, this rank's
// shard of the optimizer state (resharded by the coordinator from whatever
// world size wrote it), the optimizer's step count and the data position.
func (g *generations) restore(ctx context.Context, tr *Trainer, step int64) error {
	m, err := g.client.GetCheckpoint(ctx, step)
	if err != nil {
		return fmt.Errorf("restore step %d: %w", step, err)
	}
	want, err := tr.ModelSpecJSON()
	if err != nil {
		return err
	}
	if !sameJSON(m.ModelSpec, want) || m.NumParams != tr.NumParams() {
		return fmt.Errorf("restore step %d: the checkpoint is of another model (%s, %d parameters); this job trains %s (%d parameters)",
			step, compact(m.ModelSpec), m.NumParams, want, tr.NumParams())
	}
	if err := g.restoreNorm(step, m.InputNormalization); err != nil {
		return err
	}
	params := make([]float32, m.NumParams)
	if err := g.download(ctx, step, 0, m.NumParams, false, map[string][]float32{"params": params}); err != nil {
		return err
	}
	lo, hi := tr.ShardRange()
	states := map[string][]float32{}
	for _, name := range m.StateNames {
		states[name] = make([]float32, hi-lo)
	}
	if err := g.download(ctx, step, lo, hi, true, states); err != nil {
		return err
	}
	return tr.Restore(params, states, m.OptimizerSteps, int(m.Step), data.Cursor{Epoch: m.Cursor.Epoch, Step: m.Cursor.Step})
}

// download fills dst (by name) with the range [lo, hi) of step.
func (g *generations) download(ctx context.Context, step int64, lo, hi int, state bool, dst map[string][]float32) error {
	if err := g.client.DownloadRange(ctx, step, lo, hi, state, dst); err != nil {
		return fmt.Errorf("restore step %d: %w", step, err)
	}
	return nil
}

func compact(b []byte) []byte {
	var x bytes.Buffer
	if json.Compact(&x, b) != nil {
		return b
	}
	return x.Bytes()
}

func sameJSON(a, b []byte) bool { return bytes.Equal(compact(a), compact(b)) }

// restoreNorm makes the corpus apply the checkpoint's stored input
// normalization (a resumed run must not fit a different one on data that
// changed); an older checkpoint without one keeps what was fitted.
func (g *generations) restoreNorm(step int64, stored []byte) error {
	if len(stored) == 0 || g.corpus.Train == nil {
		return nil
	}
	n, err := data.ParseNorm(stored, g.corpus.Train.Dim)
	if err != nil {
		return fmt.Errorf("restore step %d: %w", step, err)
	}
	changed, err := g.corpus.UseNorm(n)
	if err != nil {
		return fmt.Errorf("restore step %d: %w", step, err)
	}
	if changed {
		g.log.Warn("the checkpoint's input normalization differs from the one fitted on the training data now; using the checkpoint's", "step", step, "kind", n.Kind)
	}
	return nil
}

// restoreState brings a new generation's trainer to the state it resumes
// from: the previous generation's live state when the plan allows it and it
// covers a step (recoverLive), else checkpoint plan.RestoreStep, else the
// start. It logs which, and why.
func (g *generations) restoreState(ctx context.Context, plan *pb.Plan, comm *allreduce.Comm, tr *Trainer) (restoredFrom, error) {
	from := restoredFrom{source: "start"}
	if plan.RestoreStep > 0 {
		from = restoredFrom{source: "checkpoint", step: plan.RestoreStep}
	}
	if plan.RecoverLive {
		f, ok, err := recoverLive(ctx, comm, tr, g.live, plan.RestoreStep)
		if err != nil {
			return from, err
		}
		from = f
		if ok {
			g.log.Info("restored from live state", "source", from.source, "step", from.step, "previous_world", from.prevWorld,
				"lost_steps", from.lost)
			return from, nil
		}
		g.log.Warn("live state cannot be used: falling back", "to", from.source, "step", from.step, "lost_steps", from.lost, "why", from.detail)
	}
	if plan.RestoreStep > 0 {
		if err := g.restore(ctx, tr, plan.RestoreStep); err != nil {
			return from, err
		}
		g.log.Info("restored", "source", "checkpoint", "step", plan.RestoreStep)
	}
	return from, nil
}

// proto is f as the coordinator receives it.
func (f restoredFrom) proto() *pb.Restored {
	return &pb.Restored{Source: f.source, Step: f.step, LostSteps: f.lost, Detail: f.detail, PreviousWorld: int32(f.prevWorld)}
}
