package coordinator

import (
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
	"github.com/ringtrain/ringtrain/telemetry"
)

// metricValue reads a gauge's or counter's value from reg: the series whose
// labels include every name=value pair of labels (none: the only series).
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool {
					return l.GetName() == labels[i] && l.GetValue() == labels[i+1]
				}) {
					continue series
				}
			}
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no %s%v", name, labels)
	return 0
}

// The report observers each see the accepted reports in order: the board
// keeps rank 0's latest progress (not another rank's heartbeat), the
// latest evaluation and the summary; the history keeps the curves in
// order and each worker's last split; the metrics mirror shows rank 0's
// latest figures.
func TestReportObserversSeeReportsInOrder(t *testing.T) {
	ranks := []string{"w1", "w2"}
	progress := func(rank int, step int64, loss, compute float64) accepted {
		return progressReport(ranks, rank, step, loss, compute)
	}
	eval := func(step int64, acc float64) accepted {
		return accepted{generation: 1, ranks: ranks, req: &pb.ReportRequest{WorkerId: "w1", Generation: 1,
			Body: &pb.ReportRequest_Eval{Eval: &pb.Eval{Step: step, Accuracy: acc}}}}
	}
	done := accepted{generation: 1, ranks: ranks, req: &pb.ReportRequest{WorkerId: "w1", Generation: 1,
		Body: &pb.ReportRequest_Done{Done: &pb.Summary{Steps: 30}}}}
	reports := []accepted{
		progress(0, 10, 2.0, 0.010), progress(1, 10, 9.0, 0.020),
		progress(0, 20, 1.5, 0.011), eval(20, 0.5),
		progress(1, 20, 9.0, 0.030), progress(0, 30, 1.0, 0.012),
		eval(30, 0.75), progress(1, 40, 9.0, 0.040), done,
	}
	b, h, m := &board{}, &history{}, newMetricsMirror()
	for _, r := range reports {
		for _, o := range []reportObserver{b, h, m} {
			o.observeReport(r)
		}
	}

	p, e, s := b.latest()
	if p.GetStep() != 30 || p.GetLoss() != 1.0 || e.GetStep() != 30 || s.GetSteps() != 30 {
		t.Errorf("board: progress %v, eval %v, summary %v; want rank 0's step 30, the eval of step 30, the summary", p, e, s)
	}

	loss, thr, acc, split := h.curves()
	xs := func(pts []telemetry.Point) (out []float64) {
		for _, p := range pts {
			out = append(out, p.X)
		}
		return out
	}
	if !slices.Equal(xs(loss), []float64{10, 20, 30}) || loss[2].Y != 1.0 || !slices.Equal(xs(thr), []float64{10, 20, 30}) {
		t.Errorf("history: loss %v, throughput %v; want rank 0's steps 10, 20, 30 in order", loss, thr)
	}
	if !slices.Equal(xs(acc), []float64{20, 30}) || acc[1].Y != 75 {
		t.Errorf("history: accuracy %v, want 50%% at 20 then 75%% at 30", acc)
	}
	if len(split) != 2 || split[0].ID != "w1" || split[1].ID != "w2" ||
		split[0].T[telemetry.PhaseCompute] != 6*time.Millisecond || split[1].T[telemetry.PhaseCompute] != 20*time.Millisecond {
		t.Errorf("history: split %v, want each worker's last window (w1: 6ms compute, w2: 20ms)", split)
	}

	if got := metricValue(t, m.Registry, "ringtrain_step"); got != 30 {
		t.Errorf("ringtrain_step %v, want 30", got)
	}
	if got := metricValue(t, m.Registry, "ringtrain_loss"); got != 1.0 {
		t.Errorf("ringtrain_loss %v, want rank 0's 1.0", got)
	}
	if got := metricValue(t, m.Registry, "ringtrain_test_accuracy"); got != 0.75 {
		t.Errorf("ringtrain_test_accuracy %v, want 0.75", got)
	}
}

// The dashboard's curves stay bounded: past maxPoints, older points are
// thinned by half and the newest is always kept.
func TestHistoryThinsOldPoints(t *testing.T) {
	h := &history{}
	n := 3*maxPoints + 7
	for i := range n {
		h.observeReport(progressReport([]string{"w1"}, 0, int64(i+1), 1, 0.01))
	}
	loss, _, _, _ := h.curves()
	if len(loss) > maxPoints || loss[len(loss)-1].X != float64(n) || loss[0].X != 1 {
		t.Fatalf("%d points from %v to %v, want at most %d ending at %d", len(loss), loss[0].X, loss[len(loss)-1].X, maxPoints, n)
	}
	for i := 1; i < len(loss); i++ {
		if loss[i].X <= loss[i-1].X {
			t.Fatalf("points out of order at %d: %v after %v", i, loss[i].X, loss[i-1].X)
		}
	}
}

// The recovery clock runs from the first failure event to the first
// finish after it.
func TestRecoveryClock(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ev := func(kind EventKind, at time.Duration) published {
		return published{Event: Event{Kind: kind}, At: t0.Add(at)}
	}
	for _, tc := range []struct {
		name   string
		events []published
		finish time.Duration
		want   time.Duration
		ok     bool
	}{
		{"no failure", []published{ev(EventGeneration, 0), ev(EventAnomaly, time.Second)}, 5 * time.Second, 0, false},
		{"one failure", []published{ev(EventFailure, time.Second), ev(EventGeneration, time.Second)}, 3 * time.Second, 2 * time.Second, true},
		{"the first of several failures", []published{ev(EventFailure, time.Second), ev(EventPaused, time.Second), ev(EventFailure, 4*time.Second)}, 5 * time.Second, 4 * time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r recoveryClock
			for _, e := range tc.events {
				r.observeEvent(e)
			}
			d, ok := r.finish(t0.Add(tc.finish))
			if d != tc.want || ok != tc.ok {
				t.Fatalf("finish: %v %v, want %v %v", d, ok, tc.want, tc.ok)
			}
			if _, again := r.finish(t0.Add(tc.finish + time.Second)); again {
				t.Fatal("a finished recovery finished again")
			}
		})
	}
}

// The roster names workers by join count and host, and hands out copies.
func TestRoster(t *testing.T) {
	r := newRoster()
	t0 := time.Unix(1000, 0)
	a := r.add(&pb.JoinRequest{Version: "v1", Hostname: "alpha", MetricsAddr: "m:1"}, t0)
	b := r.add(&pb.JoinRequest{Version: "v1", Hostname: "beta"}, t0)
	if a != "w1-alpha" || b != "w2-beta" {
		t.Fatalf("ids %q %q, want w1-alpha w2-beta", a, b)
	}
	if !r.known(a) || r.known("w3-gamma") {
		t.Fatal("known is wrong")
	}
	r.seen(a, t0.Add(time.Minute))
	r.seen("w3-gamma", t0) // unknown: nothing happens
	info, ok := r.get(a)
	if !ok || info.version != "v1" || info.hostname != "alpha" || info.metricsAddr != "m:1" || !info.lastSeen.Equal(t0.Add(time.Minute)) {
		t.Fatalf("info %+v %v", info, ok)
	}
	info.hostname = "changed"
	if again, _ := r.get(a); again.hostname != "alpha" {
		t.Fatal("get returned the roster's own info")
	}
	if _, ok := r.get("w3-gamma"); ok {
		t.Fatal("an unknown worker has info")
	}
}
