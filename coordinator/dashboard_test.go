package coordinator

import (
	"context"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// The dashboard's step-time split shows each worker's last window, phase by
// phase in the order of a step, under the phases' headings.
func TestDashboardStepSplit(t *testing.T) {
	run := startRunning(t, 2)
	s, c, ids, gen := run.s, run.c, run.ids, run.gen
	ctx := context.Background()
	for rank, tm := range []*pb.StepTiming{
		{DataS: 0.001, ComputeS: 0.002, ReduceScatterS: 0.003, OptimizerS: 0.004, AllGatherS: 0.005},
		{DataS: 0.010, ComputeS: 0.020, ReduceScatterS: 0.030, OptimizerS: 0.040, AllGatherS: 0.050},
	} {
		if _, err := c.Report(ctx, &pb.ReportRequest{WorkerId: ids[rank], Generation: gen, Rank: int32(rank),
			Body: &pb.ReportRequest_Progress{Progress: &pb.Progress{Step: 10, Loss: 1, Timing: tm}}}); err != nil {
			t.Fatal(err)
		}
	}
	rec := httptest.NewRecorder()
	s.dashboard(rec, httptest.NewRequest("GET", "/", nil))
	page := rec.Body.String()
	table := regexp.MustCompile(`(?s)<table id="split">.*?</table>`).FindString(page)
	if !strings.Contains(table, "<tr><th>worker</th><th>data</th><th>compute</th><th>reduce-scatter</th><th>optimizer</th><th>all-gather</th></tr>") {
		t.Fatalf("split table headings:\n%s", table)
	}
	for i, want := range []string{"<td>1ms</td><td>2ms</td><td>3ms</td><td>4ms</td><td>5ms</td>", "<td>10ms</td><td>20ms</td><td>30ms</td><td>40ms</td><td>50ms</td>"} {
		if !strings.Contains(table, "<tr><td>"+ids[i]+"</td>"+want+"</tr>") {
			t.Errorf("split row of %s (rank %d) is not %s:\n%s", ids[i], i, want, table)
		}
	}
}
