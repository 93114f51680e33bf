package telemetry

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/internal/connlimit"
	"github.com/ringtrain/ringtrain/internal/testutil"
)

// keepAlive asks addr for /metrics once from the local IP from and leaves
// the connection open and quiet; it reports whether it was answered.
func keepAlive(t *testing.T, from, addr string) (net.Conn, bool) {
	t.Helper()
	return testutil.KeepAlive(t, from, addr, "/metrics", 10*time.Second)
}

// scrapeOnce asks for /metrics on a connection of its own from 127.0.0.1,
// closed afterwards, and returns the body.
func scrapeOnce(addr string) (string, error) {
	cl := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := cl.Get("http://" + addr + "/metrics")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = &net.AddrError{Err: resp.Status, Addr: addr}
	}
	return string(b), err
}

// A client holding quiet kept-alive connections gets its share of the
// endpoint's connections and no more (the rest are closed as they
// arrive); the ones it holds are closed after the idle timeout, which
// frees them for others; meanwhile a scrape from another host works.
func TestMetricsEndpointBoundsIdleConnections(t *testing.T) {
	lim := DefaultHTTPLimits()
	lim.Conns = connlimit.Limits{Total: 6, PerHost: 4}
	lim.Idle = time.Second
	s, err := ServeWithin("127.0.0.1:0", lim, slog.New(slog.DiscardHandler), NewWorker().Registry)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	addr := s.Addr()

	var held []net.Conn
	for _, step := range []struct {
		from               string
		attempts, wantHeld int
	}{
		{"127.0.0.2", 7, 4}, // its host's share
		{"127.0.0.3", 1, 1}, // 5 in all: a place is left
	} {
		n := 0
		for range step.attempts {
			if c, ok := keepAlive(t, step.from, addr); ok {
				held = append(held, c)
				n++
			}
		}
		if n != step.wantHeld {
			t.Fatalf("%d of %d kept-alive connections from %s answered, want %d", n, step.attempts, step.from, step.wantHeld)
		}
	}
	body, err := scrapeOnce(addr)
	if err != nil || !strings.Contains(body, "ringtrain_steps_total") {
		t.Fatalf("a scrape from 127.0.0.1 while 5 connections are held: %v\n%.200s", err, body)
	}
	// The scrape's connection is freed once the server has closed it.
	testutil.Eventually(t, 10*time.Second, "the last place taken from 127.0.0.1", func() bool {
		c, ok := keepAlive(t, "127.0.0.1", addr)
		if ok {
			held = append(held, c)
		}
		return ok
	})
	if _, ok := keepAlive(t, "127.0.0.4", addr); ok {
		t.Fatal("a 7th connection was answered: the total is 6")
	}
	for i, c := range held {
		if !testutil.ClosedWithin(c, 20*time.Second) {
			t.Fatalf("held connection %d (from %s) still open well after the idle timeout of %v", i, c.LocalAddr(), lim.Idle)
		}
	}
	testutil.Eventually(t, 10*time.Second, "the closed connections' places freed", func() bool {
		total, _ := s.ln.Gate().Held("127.0.0.2")
		return total == 0
	})
	if _, err := scrapeOnce(addr); err != nil {
		t.Fatalf("a scrape after the idle connections were closed: %v", err)
	}
}

func TestServeWithinRefusesBadLimits(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*HTTPLimits)
		want string
	}{
		{"no idle timeout", func(l *HTTPLimits) { l.Idle = 0 }, "every HTTP timeout must be positive"},
		{"no write timeout", func(l *HTTPLimits) { l.Write = 0 }, "every HTTP timeout must be positive"},
		{"no connections", func(l *HTTPLimits) { l.Conns.Total = 0 }, "metrics: connlimit: Total must be at least 1"},
		{"per host over total", func(l *HTTPLimits) { l.Conns.PerHost = 100 }, "PerHost (100) must not exceed Total (64)"},
	} {
		lim := DefaultHTTPLimits()
		tc.edit(&lim)
		s, err := ServeWithin("127.0.0.1:0", lim, nil, NewWorker().Registry)
		if err == nil {
			s.Close()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
