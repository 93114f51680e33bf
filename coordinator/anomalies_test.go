package coordinator

import (
	"fmt"
	"strings"
	"testing"

	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// progressReport is rank's progress at step in a generation of the given
// ranks, with its loss and data+compute time.
func progressReport(ranks []string, rank int, step int64, loss, compute float64) accepted {
	return accepted{generation: 1, ranks: ranks, req: &pb.ReportRequest{WorkerId: ranks[rank], Generation: 1, Rank: int32(rank),
		Body: &pb.ReportRequest_Progress{Progress: &pb.Progress{Step: step, Loss: loss, Timing: &pb.StepTiming{DataS: compute / 2, ComputeS: compute / 2}}}}}
}

// The detectors find loss spikes on rank 0's loss, stragglers among the
// ranks of a window (at most one event per worker per 100 steps), and a
// worker failing for the third time; each finding goes to raise.
func TestDetectors(t *testing.T) {
	two := []string{"w1", "w2"}
	smooth := []float64{1, 0.9, 0.8, 0.75, 0.7, 0.68}
	for _, tc := range []struct {
		name    string
		reports []accepted
		failed  []string // data addresses, in order
		want    []string // kind: message fragment, in order
		waiting int      // windows still waiting for a rank's timing
	}{
		{name: "a spike in rank 0's loss", reports: func() (r []accepted) {
			for i, l := range append(smooth, 4.2) {
				r = append(r, progressReport([]string{"w1"}, 0, int64(10*(i+1)), l, 0.01))
			}
			return r
		}(), want: []string{"loss_spike: loss spike at step 70: 4.2000"}},
		{name: "rank 1's loss is not the run's", reports: func() (r []accepted) {
			for i, l := range append(smooth, 4.2) {
				r = append(r, progressReport(two, 1, int64(10*(i+1)), l, 0.01))
			}
			return r
		}(), waiting: 7},
		{name: "a straggler", reports: []accepted{
			progressReport(two, 0, 10, 1, 0.010), progressReport(two, 1, 10, 1, 0.011),
			progressReport(two, 1, 20, 1, 0.040), progressReport(two, 0, 20, 1, 0.010),
		}, want: []string{"straggler: straggler at step 20: rank 1 (w2) needs 40ms per step to produce its gradient, the median rank 25ms"}},
		{name: "one straggler event per worker per 100 steps", reports: []accepted{
			progressReport(two, 0, 10, 1, 0.010), progressReport(two, 1, 10, 1, 0.040),
			progressReport(two, 0, 50, 1, 0.010), progressReport(two, 1, 50, 1, 0.040),
			progressReport(two, 0, 110, 1, 0.040), progressReport(two, 1, 110, 1, 0.010),
			progressReport(two, 0, 120, 1, 0.010), progressReport(two, 1, 120, 1, 0.040),
		}, want: []string{"straggler: at step 10: rank 1 (w2)", "straggler: at step 110: rank 0 (w1)", "straggler: at step 120: rank 1 (w2)"}},
		{name: "a window some rank never reported is dropped", reports: []accepted{
			progressReport(two, 1, 10, 1, 0.040), progressReport(two, 0, 20, 1, 0.010), progressReport(two, 1, 20, 1, 0.010),
		}},
		{name: "no stragglers in a world of one", reports: []accepted{
			progressReport([]string{"w1"}, 0, 10, 1, 0.040),
		}},
		{name: "the third failure of a worker", failed: []string{"a:1", "b:1", "a:1", "a:1", "b:1", "a:1"},
			want: []string{"repeated_failures: the worker at a:1 (now w-a:1-3) has failed 3 times"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			d := newDetectors(func(a anomaly) { got = append(got, string(a.kind)+": "+a.message) })
			for _, r := range tc.reports {
				d.observeReport(r)
			}
			count := map[string]int{}
			for _, addr := range tc.failed {
				count[addr]++
				d.failed(fmt.Sprintf("w-%s-%d", addr, count[addr]), addr)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("found %q, want %q", got, tc.want)
			}
			for i, w := range tc.want {
				kind, fragment, _ := strings.Cut(w, ": ")
				if !strings.HasPrefix(got[i], kind+": ") || !strings.Contains(got[i], fragment) {
					t.Errorf("finding %d is %q, want %q", i, got[i], w)
				}
			}
			if len(d.ready) != tc.waiting {
				t.Errorf("windows left waiting for ranks: %v, want %d", d.ready, tc.waiting)
			}
		})
	}
}
