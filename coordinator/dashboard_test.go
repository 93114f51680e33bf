package coordinator

import (
	"context"
	"fmt"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// The dashboard's step-time split shows each worker's last window, phase by
// phase in the order of a step, under the phases' headings.
func TestDashboardStepSplit(t *testing.T) {
	s := startServer(t, 2)
	ctx := context.Background()
	c := client(t, s.Addr(), testSecret)
	var ids []string
	for i := range 2 {
		r, err := c.Join(ctx, &pb.JoinRequest{Version: "v1", DataAddr: fmt.Sprintf("127.0.0.1:%d", 20+i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.WorkerId)
		mustStream(t, c, r.WorkerId)
	}
	var gen uint64
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		st, _ := c.Status(ctx, &pb.StatusRequest{})
		if st.GetPhase() == "running" {
			gen = st.Generation
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no generation")
		}
	}
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
