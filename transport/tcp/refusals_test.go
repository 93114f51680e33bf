package tcp

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestRefusalLogIsRateLimited(t *testing.T) {
	var buf bytes.Buffer
	r := newRefusalLog(slog.New(slog.NewTextHandler(&buf, nil)), 3)
	clock := time.Unix(1000, 0)
	r.now = func() time.Time { return clock }
	for range 10 {
		r.warn("refused", "remote", "x")
	}
	if got := strings.Count(buf.String(), "refused"); got != 3 {
		t.Fatalf("%d lines in the first second, want 3:\n%s", got, buf.String())
	}
	clock = clock.Add(time.Second)
	buf.Reset()
	r.warn("refused", "remote", "y")
	if !strings.Contains(buf.String(), "suppressed_since_last=7") {
		t.Fatalf("the next line must count the 7 dropped: %s", buf.String())
	}
}
