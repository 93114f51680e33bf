package worker

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/internal/testutil"
	"github.com/ringtrain/ringtrain/job"
)

// Without a Progress (a worker under launch), a long load logs its
// progress: CSV bytes, a shard directory's test samples; with one, the
// callback is told instead (ringtrain data check). Here every call is
// "long" (LogEvery 1 ns).
func TestLoadProgressLogged(t *testing.T) {
	csv := job.Default()
	csv.Data.Source, csv.Data.CSV.Header = "csv", true
	csv.Data.Path = testutil.RepoRoot(t) + "/docs/examples/sensors-train.csv.gz"
	csv.Data.TestPath = testutil.RepoRoot(t) + "/docs/examples/sensors-test.csv.gz"
	for _, tc := range []struct {
		name string
		spec job.Spec
		unit string
	}{
		{"csv", csv, "CSV bytes"},
		{"shards", shardSpec(packedMNIST(t)), "test samples"},
	} {
		if got := LoadUnit(tc.spec); got != tc.unit {
			t.Errorf("%s: LoadUnit %q, want %q", tc.name, got, tc.unit)
		}
		var buf bytes.Buffer
		log := slog.New(slog.NewTextHandler(&buf, nil))
		if _, err := LoadDataWith(tc.spec, LoadOptions{Logger: log, LogEvery: time.Nanosecond}); err != nil {
			t.Fatal(err)
		}
		lines := strings.Count(buf.String(), `msg="loading `+tc.unit+`"`)
		if lines < 2 || !strings.Contains(buf.String(), "percent=100") {
			t.Errorf("%s: %d progress lines, want several ending at 100%%:\n%s", tc.name, lines, buf.String())
		}
		var calls, last, total int
		if _, err := LoadDataWith(tc.spec, LoadOptions{Logger: log, Progress: func(d, n int) { calls, last, total = calls+1, d, n }}); err != nil {
			t.Fatal(err)
		}
		if calls < 2 || last != total || total == 0 {
			t.Errorf("%s: Progress called %d times, last %d/%d", tc.name, calls, last, total)
		}
	}
	if got := LoadUnit(textSpec("lstm")); got != "" {
		t.Errorf("a text: LoadUnit %q, want none", got)
	}
}
