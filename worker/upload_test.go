package worker

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/internal/testcluster"
)

// An upload the coordinator ends early reaches the worker with the
// coordinator's own status, not gRPC's bare io.EOF from Send; a checkpoint
// the coordinator could not store (codes.Aborted) is logged and is not the
// worker's failure. Real coordinator, real gRPC, a real file in the way.
func TestUploadCarriesTheCoordinatorsAnswer(t *testing.T) {
	coord := testcluster.StartCoordinator(t, testcluster.OneWorkerJob(), testcluster.Options{RunID: "upload"})
	client, store := coord.Client, coord.Store
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j := testcluster.Join(t, ctx, client)
	gen := j.Plan.Generation
	// A stray file where step 10's directory goes: the coordinator's disk
	// cannot take that step, and it says so as soon as the header arrives.
	if err := os.WriteFile(store.StepDir(10), []byte("in the way"), 0o644); err != nil {
		t.Fatal(err)
	}
	const n = 1 << 20 // 12 MiB with two optimizer states: far more than gRPC buffers before Send fails
	snap := func(step int64) Snapshot {
		return Snapshot{Step: step, Lo: 0, Hi: n, Params: make([]float32, n),
			States: map[string][]float32{"m": make([]float32, n), "v": make([]float32, n)}}
	}
	for _, tc := range []struct {
		name, id string
		step     int64
		wantErr  string // "" : Flush succeeds
		wantLog  string
		stored   bool
	}{
		{name: "the coordinator's disk cannot store the step", id: j.ID, step: 10,
			wantLog: "is not a directory"},
		{name: "refused for another reason: the worker's error names it", id: "w99-nobody", step: 20,
			wantErr: "unknown worker id"},
		{name: "stored", id: j.ID, step: 30, stored: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			u := &uploader{client: client, log: slog.New(slog.NewTextHandler(&logs, nil)), id: tc.id, gen: gen, rank: 0, world: 1}
			if err := u.Save(ctx, snap(tc.step), nil); err != nil {
				t.Fatal(err)
			}
			err := u.Flush(ctx)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Flush: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.HasSuffix(err.Error(), "EOF")):
				t.Fatalf("Flush: %v, want the coordinator's %q", err, tc.wantErr)
			}
			if !strings.Contains(logs.String(), tc.wantLog) || (tc.wantLog != "" && !strings.Contains(logs.String(), "level=WARN")) {
				t.Fatalf("log %q, want a warning with %q", logs.String(), tc.wantLog)
			}
			if _, err := os.Stat(store.ShardPath(tc.step, 0)); (err == nil) != tc.stored {
				t.Fatalf("shard of step %d stored: %v, want %v", tc.step, err == nil, tc.stored)
			}
		})
	}
	if got, err := os.ReadFile(store.StepDir(10)); err != nil || string(got) != "in the way" {
		t.Fatalf("the stray file changed: %q %v", got, err)
	}
}
