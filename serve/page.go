package serve

import (
	"html/template"
	"math"
	"net/http"
	"sort"
	"strconv"
	"time"

	"gonum.org/v1/plot/vg"

	"github.com/ringtrain/ringtrain/telemetry"
)

// The server's status page at GET /, in the style of the coordinator's
// dashboard: figures and charts drawn on the server (SVG, no network),
// refreshed by the browser every 2 s.
var statusPage = template.Must(template.New("status").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="2">
<title>ringtrain serve {{.Name}}</title>
<style>
body{font-family:sans-serif;margin:1.5em;color:#222} table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left} th{background:#f4f4f4}
.charts{display:flex;flex-wrap:wrap;gap:1em} .chart{border:1px solid #ddd} .bad{color:#b00}
</style></head><body>
<h1>ringtrain serve: {{.Name}}</h1>
<p id="summary">model <b>{{.Name}}</b> · version (step) <b>{{.Version}}</b> · kind {{.Kind}} · {{.Inputs}} inputs, {{.Classes}} classes
· {{if .Ready}}ready{{else}}<span class="bad">not ready (draining)</span>{{end}}
· served since {{.Since}} ({{.Uptime}}) · queue {{.Queue}}
· out-of-distribution threshold {{.OOD}}</p>
<div class="charts">
{{range .Charts}}<div class="chart">{{.}}</div>{{end}}
</div>
{{if not .Charts}}<p>No samples yet: the history is sampled every {{.Interval}}.</p>{{end}}
<h2>Requests by status</h2>
<table id="requests"><tr><th>endpoint</th><th>status</th><th>requests</th></tr>
{{range .Requests}}<tr><td>{{.Endpoint}}</td><td>{{.Code}}</td><td>{{.N}}</td></tr>
{{end}}</table>
<h2>Batch sizes</h2>
<table id="batches"><tr><th>instances per forward pass</th><th>batches</th></tr>
{{range .Batches}}<tr><td>{{.Range}}</td><td>{{.N}}</td></tr>
{{end}}</table>
<h2>Abnormal requests</h2>
<table id="abnormal"><tr><th>kind</th><th>requests</th></tr>
{{range .Abnormal}}<tr><td>{{.Kind}}</td><td>{{.N}}</td></tr>
{{end}}</table>
<h2>Reloads</h2>
<table id="reloads"><tr><th>time (UTC)</th><th>step</th><th>result</th></tr>
<tr><td>{{.Started}}</td><td>{{.First}}</td><td>loaded at start</td></tr>
{{range .Reloads}}<tr><td>{{.T}}</td><td>{{.Step}}</td><td{{if .Err}} class="bad"{{end}}>{{if .Err}}failed: {{.Err}}{{else}}served{{end}}</td></tr>
{{end}}</table>
</body></html>
`))

type pageRow struct {
	Endpoint, Code, Kind, Range string
	N                           uint64
}

type pageReload struct {
	T    string
	Step int64
	Err  string
}

func (s *Server) handlePage(w http.ResponseWriter, r *http.Request) {
	info := s.Info()
	samples := s.hist.samples()
	ood := "none (no training statistics)"
	if sc := s.ood.Load(); sc != nil {
		ood = strconv.FormatFloat(sc.threshold, 'g', 4, 64)
	}
	data := map[string]any{
		"Name": s.opts.Name, "Version": info.Version, "Kind": info.Spec.Kind,
		"Inputs": info.InputSize(), "Classes": info.Classes(), "Ready": s.ready.Load(),
		"Since":    s.hist.started.UTC().Format(time.DateTime + " UTC"),
		"Uptime":   time.Since(s.hist.started).Round(time.Second).String(),
		"Started":  s.hist.started.UTC().Format(time.TimeOnly),
		"First":    s.hist.first,
		"Queue":    len(s.b.queue),
		"OOD":      ood,
		"Interval": s.opts.SampleInterval,
		"Charts":   s.charts(samples),
	}
	data["Requests"], data["Batches"], data["Abnormal"] = s.pageTables()
	var reloads []pageReload
	for _, ev := range s.hist.reloadList() {
		reloads = append(reloads, pageReload{T: ev.t.UTC().Format(time.TimeOnly), Step: ev.step, Err: ev.err})
	}
	data["Reloads"] = reloads
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := statusPage.Execute(w, data); err != nil {
		s.opts.Log.Debug("writing the status page", "err", err) // the client went away
	}
}

// charts draws the history: latency percentiles, throughput and queue
// length, mean batch size, against seconds before now.
func (s *Server) charts(samples []histSample) []template.HTML {
	if len(samples) == 0 {
		return nil
	}
	now := samples[len(samples)-1].t
	curve := func(f func(histSample) float64, scale float64) []telemetry.Point {
		var pts []telemetry.Point
		for _, h := range samples {
			if v := f(h); !math.IsNaN(v) {
				pts = append(pts, telemetry.Point{X: -now.Sub(h.t).Seconds(), Y: v * scale})
			}
		}
		return pts
	}
	specs := []struct {
		title, y string
		names    []string
		curves   [][]telemetry.Point
	}{
		{"Request latency", "ms", []string{"p50", "p99", "p99.9"}, [][]telemetry.Point{
			curve(func(h histSample) float64 { return h.p50 }, 1e3),
			curve(func(h histSample) float64 { return h.p99 }, 1e3),
			curve(func(h histSample) float64 { return h.p999 }, 1e3)}},
		{"Throughput and queue", "per second / waiting", []string{"requests/s", "queue length"}, [][]telemetry.Point{
			curve(func(h histSample) float64 { return h.rate }, 1),
			curve(func(h histSample) float64 { return h.queue }, 1)}},
		{"Batch size", "mean instances per forward pass", []string{"batch"}, [][]telemetry.Point{
			curve(func(h histSample) float64 { return h.batch }, 1)}},
	}
	var out []template.HTML
	for _, c := range specs {
		svg, err := telemetry.LineSVG(c.title, "seconds before now", c.y, c.names, c.curves, 11*vg.Centimeter, 7*vg.Centimeter)
		if err != nil {
			s.opts.Log.Debug("drawing a status page chart", "chart", c.title, "err", err)
			continue
		}
		out = append(out, template.HTML(svg)) // generated by gonum/plot from numbers and the fixed titles only
	}
	return out
}

// pageTables are the cumulative counts: requests by endpoint and status,
// batches by size, abnormal requests by kind.
func (s *Server) pageTables() (requests, batches, abnormal []pageRow) {
	fams, err := s.met.reg.Gather()
	if err != nil {
		return nil, nil, nil
	}
	for _, f := range fams {
		switch f.GetName() {
		case "ringtrain_serve_requests_total":
			for _, m := range f.GetMetric() {
				row := pageRow{N: uint64(m.GetCounter().GetValue())}
				for _, l := range m.GetLabel() {
					switch l.GetName() {
					case "endpoint":
						row.Endpoint = l.GetValue()
					case "code":
						row.Code = l.GetValue()
					}
				}
				requests = append(requests, row)
			}
		case "ringtrain_serve_unauthorized_requests_total":
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if n := uint64(m.GetCounter().GetValue()); n > 0 {
						requests = append(requests, pageRow{Endpoint: "any (token " + l.GetValue() + ")", Code: "401", N: n})
					}
				}
			}
		case "ringtrain_serve_abnormal_requests_total":
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					abnormal = append(abnormal, pageRow{Kind: l.GetValue(), N: uint64(m.GetCounter().GetValue())})
				}
			}
		case "ringtrain_serve_batch_size":
			for _, m := range f.GetMetric() {
				lo, below := 0.0, uint64(0)
				for _, b := range m.GetHistogram().GetBucket() {
					if n := b.GetCumulativeCount() - below; n > 0 {
						batches = append(batches, pageRow{Range: sizeRange(lo, b.GetUpperBound()), N: n})
					}
					lo, below = b.GetUpperBound(), b.GetCumulativeCount()
				}
				if n := m.GetHistogram().GetSampleCount() - below; n > 0 {
					batches = append(batches, pageRow{Range: "over " + strconv.FormatFloat(lo, 'g', -1, 64), N: n})
				}
			}
		}
	}
	sort.Slice(requests, func(i, j int) bool {
		if requests[i].Endpoint != requests[j].Endpoint {
			return requests[i].Endpoint < requests[j].Endpoint
		}
		return requests[i].Code < requests[j].Code
	})
	return requests, batches, abnormal
}

// sizeRange names the integer batch sizes in (lo, hi].
func sizeRange(lo, hi float64) string {
	a, b := int(math.Floor(lo))+1, int(math.Floor(hi))
	if a >= b {
		return strconv.Itoa(b)
	}
	return strconv.Itoa(a) + "–" + strconv.Itoa(b)
}
