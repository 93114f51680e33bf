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
	"github.com/ringtrain/ringtrain/transport/tcp"
)

// A frame that arrived corrupted (cluster.frame_checksum caught it, or a
// header's checksum did) ends the generation as a broken link, not as a
// failure of the run; and since nobody died, nobody else would end the
// generation (the other ranks only see their links drop), so the rank that
// caught it reports a stall and the coordinator re-forms the generation
// from the newest checkpoint, against a real coordinator.
func TestCorruptedFrameReformsTheGeneration(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"payload", fmt.Errorf("allreduce: all-reduce/ring call 4: tcp: recv from rank 1: generation 7, all-reduce/ring call 4 step 0 chunk 2: payload of 1048576 bytes has CRC32C 316dfbdb, its frame says 8e4f9c94: %w: %w", tcp.ErrChecksum, allreduce.ErrPeerLost)},
		{"header", fmt.Errorf("tcp: recv from rank 1: generation 7, expecting all-gather call 9 step 1 chunk 0: tcp: frame header: %w: %w", tcp.ErrChecksum, allreduce.ErrProtocol)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startLiveRun(t)
			if got := classify(tc.err); got != endPeer {
				t.Fatalf("classify(%v) = %v, want %v", tc.err, got, endPeer)
			}
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			g := &generations{rep: newReporter(r.Client, r.ID, log), log: log, client: r.Client, id: r.ID}
			g.ended(context.Background(), r.Plan, tc.err)
			g.rep.close(5 * time.Second) // delivers what ended queued
			testutil.Eventually(t, 5*time.Second, "a new generation", func() bool {
				st, err := r.Client.Status(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if st.Phase == string(coordinator.PhaseFailed) {
					t.Fatalf("the run failed: %s", st.Error)
				}
				return st.Generation > r.Plan.Generation
			})
		})
	}
}
