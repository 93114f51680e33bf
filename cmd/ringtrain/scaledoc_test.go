package main

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/internal/testutil"
	"github.com/ringtrain/ringtrain/job"
	"github.com/ringtrain/ringtrain/model"
)

// simRow is one row of `ringtrain simulate`: step ms, efficiency and
// comm share in percent, by node count.
type simRow struct{ step, eff, share float64 }

func parseSimulate(t *testing.T, out string) map[int]simRow {
	t.Helper()
	rows := map[int]simRow{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) != 12 {
			t.Fatalf("simulate row %q", l)
		}
		num := func(s string) float64 {
			v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
			if err != nil {
				t.Fatalf("simulate row %q: %v", l, err)
			}
			return v
		}
		rows[int(num(f[0]))] = simRow{step: num(f[1]), eff: num(f[8]), share: num(f[9])}
	}
	return rows
}

// docs/scaling.md's figures are what its commands give: every `ringtrain
// simulate` command's output block and the predicted figures it quotes,
// the measured ones against the CSVs it links, and the job it measures
// (docs/examples/scale.yaml) exists and has the parameters it says.
func TestScalingDocFigures(t *testing.T) {
	root := testutil.RepoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "docs", "scaling.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)

	// Each simulate command; an output block right after it must match.
	cmdRe := regexp.MustCompile("(?m)^ringtrain (simulate[^\n]*)$")
	sims := map[string]map[int]simRow{} // "loopback" / "link" / "defaults"
	for _, m := range cmdRe.FindAllStringSubmatchIndex(doc, -1) {
		args := strings.Fields(doc[m[2]:m[3]])
		out, e, code := cli(t, nil, args...)
		if code != 0 {
			t.Fatalf("ringtrain %s: %s", strings.Join(args, " "), e)
		}
		rest := doc[m[1]:]
		if after, ok := strings.CutPrefix(rest, "\n```\n\n```text\n"); ok {
			want := after[:strings.Index(after, "```")]
			if trimLines(out) != trimLines(want) {
				t.Errorf("ringtrain %s prints\n%s\ndocs/scaling.md shows\n%s", strings.Join(args, " "), out, want)
			}
		}
		line := strings.Join(args, " ")
		switch {
		case strings.Contains(line, "--link-bandwidth 9600"):
			sims["loopback"] = parseSimulate(t, out)
		case strings.Contains(line, "--link-bandwidth 200 "):
			sims["200 Mbit/s, 1 ms"] = parseSimulate(t, out)
		case line == "simulate --worlds 1,2,4,8,16,1024":
			sims["defaults"] = parseSimulate(t, out)
		}
	}
	if len(sims) != 3 {
		t.Fatalf("found the simulate commands %v in docs/scaling.md, want loopback, link and defaults", sims)
	}

	// The prediction table against simulate and the measured CSVs.
	measured := map[string]map[int][]string{
		"loopback":         readScaleCSV(t, filepath.Join(root, "docs", "bench-results", "scaling", "loopback.csv")),
		"200 Mbit/s, 1 ms": readScaleCSV(t, filepath.Join(root, "docs", "bench-results", "scaling", "link-200mbps-1ms.csv")),
	}
	rowRe := regexp.MustCompile(`(?m)^\| (loopback|200 Mbit/s, 1 ms) \| (\d+) \| ([\d.]+) ms \| ([\d.]+) ms \| \**([−-]?[\d.]+)%\** \| (\d+)% \| (\d+)% \|$`)
	rows := rowRe.FindAllStringSubmatch(doc, -1)
	if len(rows) != 5 {
		t.Fatalf("%d rows in the prediction table, want 5", len(rows))
	}
	for _, r := range rows {
		net, n := r[1], atoi(t, r[2])
		measStep, predStep := atof(t, r[3]), atof(t, r[4])
		errPct := atof(t, strings.ReplaceAll(r[5], "−", "-"))
		measShare, predShare := atof(t, r[6]), atof(t, r[7])
		sim, ok := sims[net][n]
		if !ok {
			t.Fatalf("%s: no simulate row for %d nodes", net, n)
		}
		if fmtf(sim.step, 1) != r[4] || math.Round(sim.share) != predShare {
			t.Errorf("%s, %d workers: the table predicts %s ms and %v%%; simulate gives %.3f ms and %.1f%%", net, n, r[4], predShare, sim.step, sim.share)
		}
		if got := 100 * (predStep - measStep) / measStep; math.Abs(got-errPct) > 0.6 {
			t.Errorf("%s, %d workers: error %v%%, the figures give %.1f%%", net, n, errPct, got)
		}
		csvRow, ok := measured[net][n]
		if !ok {
			t.Fatalf("%s: no measured row for %d workers", net, n)
		}
		if fmtf(1e3*atof(t, csvRow[5]), 1) != r[3] || math.Round(100*atof(t, csvRow[11])) != measShare {
			t.Errorf("%s, %d workers: the table says %s ms and %v%% measured; the CSV %s s and %s", net, n, r[3], measShare, csvRow[5], csvRow[11])
		}
	}

	// The efficiencies quoted at scale are the defaults' output.
	atScale := doc[strings.Index(doc, "## What it predicts at scale"):]
	quoted := regexp.MustCompile(`(\d+) nodes (\d+\.\d)%`).FindAllStringSubmatch(atScale, -1)
	if len(quoted) < 4 {
		t.Fatalf("quoted efficiencies %v", quoted)
	}
	for _, q := range quoted {
		if sim := sims["defaults"][atoi(t, q[1])]; fmtf(sim.eff, 1) != q[2] {
			t.Errorf("docs/scaling.md: %s nodes %s%% efficiency; simulate gives %.1f%%", q[1], q[2], sim.eff)
		}
	}

	// The job it measures.
	for _, m := range regexp.MustCompile(`--config (\S+)`).FindAllStringSubmatch(doc, -1) {
		if _, err := job.Load(filepath.Join(root, m[1])); err != nil {
			t.Errorf("docs/scaling.md uses --config %s: %v", m[1], err)
		}
	}
	spec, err := job.Load(filepath.Join(root, "docs", "examples", "scale.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, n, err := model.Layout(model.Spec{Kind: spec.Model.Kind, Hidden: spec.Model.Hidden, Input: []int{spec.Data.Synthetic.Dim},
		Classes: spec.Data.Synthetic.Classes, Loss: spec.Model.Loss})
	if err != nil || n != 535818 || !strings.Contains(doc, "535,818 parameters") || !strings.Contains(doc, "--params 535818") {
		t.Fatalf("docs/examples/scale.yaml: %d parameters (%v); docs/scaling.md says 535,818", n, err)
	}
}

func readScaleCSV(t *testing.T, path string) map[int][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := map[int][]string{}
	for _, r := range recs[1:] {
		out[atoi(t, r[0])] = r
	}
	return out
}

func trimLines(s string) string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		out = append(out, strings.TrimRight(l, " "))
	}
	return strings.Join(out, "\n")
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	v, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func atof(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func fmtf(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }
