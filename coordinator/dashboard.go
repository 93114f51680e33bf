package coordinator

import (
	"html/template"
	"net/http"
	"sort"
	"time"

	"gonum.org/v1/plot/vg"

	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
	"github.com/ringtrain/ringtrain/telemetry"
)

// history is what the dashboard plots. Guarded by Server.mu.
type history struct {
	loss, throughput, accuracy []telemetry.Point
	split                      map[string]*pb.StepTiming // worker id -> its last window's step split
}

// maxPoints bounds each curve; older points are thinned by half.
const maxPoints = 2000

func appendPoint(s []telemetry.Point, p telemetry.Point) []telemetry.Point {
	if len(s) >= maxPoints {
		thin := s[:0]
		for i := 0; i < len(s); i += 2 {
			thin = append(thin, s[i])
		}
		s = thin
	}
	return append(s, p)
}

// recordHistory keeps a report for the dashboard. Called under s.mu.
func (s *Server) recordHistory(r *pb.ReportRequest) {
	h := &s.mu.history
	switch b := r.Body.(type) {
	case *pb.ReportRequest_Progress:
		if h.split == nil {
			h.split = map[string]*pb.StepTiming{}
		}
		if b.Progress.Timing != nil {
			h.split[r.WorkerId] = b.Progress.Timing
		}
		if r.Rank == 0 {
			h.loss = appendPoint(h.loss, telemetry.Point{X: float64(b.Progress.Step), Y: b.Progress.Loss})
			h.throughput = appendPoint(h.throughput, telemetry.Point{X: float64(b.Progress.Step), Y: b.Progress.SamplesPerS})
		}
	case *pb.ReportRequest_Eval:
		h.accuracy = appendPoint(h.accuracy, telemetry.Point{X: float64(b.Eval.Step), Y: 100 * b.Eval.Accuracy})
	}
}

var dashboardPage = template.Must(template.New("dashboard").Funcs(template.FuncMap{
	"pct": func(v float64) float64 { return 100 * v },
	"ms":  func(v float64) string { return time.Duration(v * 1e9).Round(10 * time.Microsecond).String() },
	"ago": func(ms int64) string {
		if ms == 0 {
			return "-"
		}
		return time.Since(time.UnixMilli(ms)).Round(100*time.Millisecond).String() + " ago"
	},
	"when": func(ms int64) string { return time.UnixMilli(ms).UTC().Format("15:04:05.000") },
}).Parse(`<!doctype html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="2">
<title>ringtrain {{.Status.RunId}}</title>
<style>
body{font-family:sans-serif;margin:1.5em;color:#222} table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left} th{background:#f4f4f4}
.charts{display:flex;flex-wrap:wrap;gap:1em} .chart{border:1px solid #ddd} .bad{color:#b00}
</style></head><body>
<h1>ringtrain run {{.Status.RunId}}</h1>
<p id="summary">phase <b>{{.Status.Phase}}</b> · generation {{.Status.Generation}} · world size {{.Status.WorldSize}}
{{with .Status.Progress}} · step {{.Step}}/{{.TotalSteps}} · epoch {{.Epoch}} · loss {{printf "%.4f" .Loss}} · {{printf "%.0f" .SamplesPerS}} samples/s{{end}}
{{with .Status.Eval}} · test accuracy {{printf "%.2f" (pct .Accuracy)}}%{{end}}
· latest checkpoint {{.Status.LatestCheckpoint}}</p>
{{with .Status.Error}}<p class="bad">{{.}}</p>{{end}}
<div class="charts">
{{range .Charts}}<div class="chart">{{.}}</div>{{end}}
</div>
<h2>Members</h2>
<table id="members"><tr><th>worker</th><th>state</th><th>rank</th><th>data address</th><th>metrics</th><th>host</th><th>last seen</th></tr>
{{range .Status.Members}}<tr><td>{{.WorkerId}}</td><td>{{.State}}</td><td>{{.Rank}}</td><td>{{.DataAddr}}</td><td>{{.MetricsAddr}}</td><td>{{.Hostname}}</td><td>{{ago .LastSeenUnixMs}}</td></tr>
{{end}}</table>
<h2>Step-time split per worker (ms per step, last window)</h2>
<table id="split"><tr><th>worker</th><th>data</th><th>compute</th><th>reduce-scatter</th><th>optimizer</th><th>all-gather</th></tr>
{{range .Split}}<tr><td>{{.ID}}</td><td>{{ms .T.DataS}}</td><td>{{ms .T.ComputeS}}</td><td>{{ms .T.ReduceScatterS}}</td><td>{{ms .T.OptimizerS}}</td><td>{{ms .T.AllGatherS}}</td></tr>
{{end}}</table>
<h2>Events</h2>
<table id="events"><tr><th>time (UTC)</th><th>kind</th><th>event</th></tr>
{{range .Events}}<tr><td>{{when .UnixMs}}</td><td>{{.Kind}}</td><td>{{.Message}}</td></tr>
{{end}}</table>
</body></html>
`))

type splitRow struct {
	ID string
	T  *pb.StepTiming
}

// dashboard renders the page: a snapshot of Status and the history, refreshed
// by the browser every 2 s.
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	st, _ := s.Status(r.Context(), &pb.StatusRequest{})
	s.mu.Lock()
	h := s.mu.history
	loss, thr, acc := append([]telemetry.Point(nil), h.loss...), append([]telemetry.Point(nil), h.throughput...), append([]telemetry.Point(nil), h.accuracy...)
	var split []splitRow
	for id, t := range h.split {
		split = append(split, splitRow{id, t})
	}
	s.mu.Unlock()
	sort.Slice(split, func(i, j int) bool { return split[i].ID < split[j].ID })
	var charts []template.HTML
	for _, c := range []struct {
		title, y string
		pts      []telemetry.Point
	}{{"Training loss", "loss", loss}, {"Test accuracy", "%", acc}, {"Throughput", "samples/s", thr}} {
		svg, err := telemetry.LineSVG(c.title, "step", c.y, []string{c.y}, [][]telemetry.Point{c.pts}, 11*vg.Centimeter, 7*vg.Centimeter)
		if err == nil {
			charts = append(charts, template.HTML(svg)) // generated by gonum/plot from numbers only
		}
	}
	events := st.Events
	if len(events) > 30 {
		events = events[len(events)-30:]
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	dashboardPage.Execute(w, map[string]any{"Status": st, "Charts": charts, "Split": split, "Events": events})
}
