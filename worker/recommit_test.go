package worker

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/ringtrain/ringtrain/checkpoint"
)

// A generation may restore a checkpoint older than the newest committed one
// (the coordinator can form it in the instant between committing a step to
// disk and recording that) and train that step again. Its upload of the
// committed step — small, or of several chunks — is acknowledged and leaves
// the committed checkpoint as it was, instead of failing the run ("run
// failed: worker …: checkpoint at step 300: … already committed", seen with
// a coordinator frozen right after a commit while a worker was killed).
func TestUploadOfACommittedStep(t *testing.T) {
	for _, n := range []int{1000, 3 << 20} {
		r := startLiveRun(t)
		ctx := context.Background()
		up := &uploader{client: r.Client, log: slog.New(slog.NewTextHandler(io.Discard, nil)), id: r.ID, gen: r.Plan.Generation, rank: 0, world: 1}
		snap := Snapshot{Step: 10, Lo: 0, Hi: n, Params: make([]float32, n), States: map[string][]float32{"m": make([]float32, n)}}
		// The job's model (job.Default: the MLP) as a worker describes it; the
		// coordinator refuses a draft of another.
		model := json.RawMessage(`{"kind":"mlp","hidden":[256],"input":[4],"classes":2,"loss":"xent"}`)
		draft := &checkpoint.Manifest{FormatVersion: checkpoint.FormatVersion, Step: 10, WorldSize: 1, NumParams: n, ModelSpec: model,
			Layout: []checkpoint.Tensor{{Name: "w", Shape: []int{n}}}, StateNames: []string{"m"}}
		if err := up.Save(ctx, snap, draft); err != nil {
			t.Fatal(err)
		}
		if err := up.Flush(ctx); err != nil {
			t.Fatalf("%d parameters: the first upload: %v", n, err)
		}
		shard := r.Store.ShardPath(10, 0)
		before, err := os.ReadFile(shard)
		if err != nil {
			t.Fatal(err)
		}
		for i := range snap.Params {
			snap.Params[i] = 1 // the step trained again, by another world size say: other bytes
		}
		if err := up.Save(ctx, snap, draft); err != nil {
			t.Fatal(err)
		}
		if err := up.Flush(ctx); err != nil {
			t.Fatalf("%d parameters: the upload of a step already committed: %v", n, err)
		}
		after, err := os.ReadFile(shard)
		if err != nil || string(after) != string(before) {
			t.Fatalf("%d parameters: the committed shard changed (%v)", n, err)
		}
		if err := r.Store.Verify(10); err != nil {
			t.Fatalf("%d parameters: the committed checkpoint does not verify: %v", n, err)
		}
	}
}
