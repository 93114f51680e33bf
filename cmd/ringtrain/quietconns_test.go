//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ringtrain/ringtrain/coordinator"
	"github.com/ringtrain/ringtrain/internal/testutil"
	"github.com/ringtrain/ringtrain/job"
	"github.com/ringtrain/ringtrain/membership"
	"github.com/ringtrain/ringtrain/telemetry"
)

// coordFDLimit is the coordinator's descriptor limit in the test below:
// room for the run (about 40 descriptors with two workers) and for every
// port's share of quiet connections, not for the connections the attacker
// tries.
const coordFDLimit = 256

// A host (127.0.0.2) that opens connections to every port of a training
// coordinator and leaves them quiet — kept-alive HTTP connections on the
// metrics port, connections that never start TLS on the control plane,
// gossip streams that send nothing — holds its share of each and no more
// (the rest are closed as they arrive), although it tries more connections
// than the coordinator has descriptors (the review's "accept4: too many
// open files", after which status failed). Meanwhile status answers, a
// scrape from 127.0.0.1 works and the run trains on in the same
// generation; what the host held is closed by each endpoint's timeout.
func TestQuietConnectionsCannotExhaustTheCoordinator(t *testing.T) {
	c := newCluster(t, strings.Replace(faultJob, "steps: 500", "steps: 1000000", 1))
	spec, err := job.Load(c.cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := c.startTraining(2)
	pid := c.coord.Process.Pid
	lim := unix.Rlimit{Cur: coordFDLimit, Max: coordFDLimit}
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &lim, nil); err != nil {
		t.Fatalf("lower the coordinator's descriptor limit: %v", err)
	}
	t.Logf("coordinator: %d descriptors open, limit %d", openFDs(t, pid), coordFDLimit)
	stepBefore := scrapeStep(t, st.MetricsAddr)

	// quiet opens one connection from 127.0.0.2 to addr that sends nothing
	// and reports whether it is held (not closed within 2 s: held ones are
	// given 10 s for TLS on the control plane, 5 s by gossip).
	quiet := func(addr string) (net.Conn, bool, error) {
		conn, err := dialFrom("127.0.0.2", addr)
		if err != nil {
			return nil, false, err
		}
		t.Cleanup(func() { conn.Close() })
		return conn, !testutil.ClosedWithin(conn, 2*time.Second), nil
	}
	var held []net.Conn
	for _, p := range []struct {
		port, addr string
		share      int
		hold       func() (net.Conn, bool, error) // one quiet connection; whether it is held
	}{
		{"metrics", st.MetricsAddr, telemetry.DefaultHTTPLimits().Conns.PerHost, func() (net.Conn, bool, error) {
			conn, ok := testutil.KeepAlive(t, "127.0.0.2", st.MetricsAddr, "/metrics", 3*time.Second)
			return conn, ok, nil
		}},
		{"control plane", c.addr, coordinator.ControlConnLimits(spec).PerHost, func() (net.Conn, bool, error) { return quiet(c.addr) }},
		{"gossip", fmt.Sprintf("127.0.0.1:%d", c.gossip), membership.StreamLimits().PerHost, func() (net.Conn, bool, error) {
			return quiet(fmt.Sprintf("127.0.0.1:%d", c.gossip))
		}},
	} {
		// More than the descriptors left, for the metrics port, whose
		// kept-alive connections never timed out; a share and some more
		// for the others. 16 at a time.
		tries := p.share + 30
		if p.port == "metrics" {
			tries = coordFDLimit + 50
		}
		var mu sync.Mutex
		var got []net.Conn
		var dialErrs []error
		sem := make(chan struct{}, 16)
		var wg sync.WaitGroup
		for range tries {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				conn, ok, err := p.hold()
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					dialErrs = append(dialErrs, err)
				}
				if ok {
					got = append(got, conn)
				}
			})
		}
		wg.Wait()
		t.Logf("%s (%s): %d of %d quiet connections from 127.0.0.2 held, %d not connected %v; coordinator: %d descriptors open",
			p.port, p.addr, len(got), tries, len(dialErrs), errors.Join(dialErrs...), openFDs(t, pid))
		if len(got) > p.share || len(got) == 0 {
			t.Errorf("%s: 127.0.0.2 holds %d quiet connections, want at most its share %d (and at least one)", p.port, len(got), p.share)
		}
		held = append(held, got...)
	}

	after, err := c.status()
	if err != nil {
		t.Fatalf("status while 127.0.0.2 holds its connections: %v\ncoordinator:\n%s", err, c.coordOut.String())
	}
	if after.Generation != st.Generation || after.Phase != "running" {
		t.Errorf("while 127.0.0.2 holds its connections: generation %s, phase %s; want %s, running (no worker lost)", after.Generation, after.Phase, st.Generation)
	}
	testutil.Eventually(t, 60*time.Second, "the run trains on (ringtrain_step moves, scraped from 127.0.0.1)", func() bool {
		return scrapeStep(t, st.MetricsAddr) > stepBefore
	})
	if n := testutil.CountClosed(held, 30*time.Second); n != len(held) {
		t.Errorf("%d of the %d connections 127.0.0.2 held are still open well after the idle (10 s), TLS handshake (10 s) and gossip (5 s) timeouts", len(held)-n, len(held))
	}
	if _, ok := testutil.KeepAlive(t, "127.0.0.2", st.MetricsAddr, "/metrics", 5*time.Second); !ok {
		t.Error("127.0.0.2 refused on the metrics port after its connections were closed")
	}
	if s, err := c.status(); err != nil || s.Generation != st.Generation {
		t.Errorf("status at the end: %+v, %v; want generation %s", s, err, st.Generation)
	}
	if strings.Contains(c.coordOut.String(), "too many open files") {
		t.Errorf("the coordinator ran out of descriptors:\n%s", c.coordOut.String())
	}
}

// dialFrom connects to addr from the local IP from (5 s at most).
func dialFrom(from, addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	return d.Dial("tcp", addr)
}

// openFDs is how many descriptors process pid has open.
func openFDs(t *testing.T, pid int) int {
	t.Helper()
	es, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("descriptors of %d: %v", pid, err)
	}
	return len(es)
}

var stepRE = regexp.MustCompile(`(?m)^ringtrain_step ([0-9.e+]+)$`)

// scrapeStep scrapes the coordinator's /metrics from 127.0.0.1 on a
// connection of its own and returns ringtrain_step.
func scrapeStep(t *testing.T, addr string) float64 {
	t.Helper()
	cl := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := cl.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape %s from 127.0.0.1: %v", addr, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	m := stepRE.FindSubmatch(b)
	if err != nil || resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("scrape %s: %s, %v; no ringtrain_step in\n%.300s", addr, resp.Status, err, b)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatalf("ringtrain_step %q: %v", m[1], err)
	}
	return v
}
