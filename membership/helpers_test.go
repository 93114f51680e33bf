package membership

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"
)

// testSecret is the cluster secret of the test clusters, testRunKey their
// run key.
var (
	testSecret = []byte("ringtrain test cluster secret 0123456789")
	testRunKey = []byte("ringtrain test run key, 32 bytes")
)

// testLogger discards logs unless RINGTRAIN_TEST_LOG=1, then writes debug
// logs to stderr. (t.Log cannot be used: memberlist goroutines may log
// after a test has finished.)
func testLogger() *slog.Logger {
	if os.Getenv("RINGTRAIN_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// testConfig is a loopback config with a free port and role-typical meta.
func testConfig(name string, role Role) Config {
	c := DefaultConfig()
	c.NodeName = name
	c.BindAddr = "127.0.0.1"
	c.BindPort = 0
	c.Secret, c.RunKey = testSecret, testRunKey
	c.Logger = testLogger()
	c.Meta = Meta{Role: role, ID: name + "-id", Version: "test"}
	switch role {
	case RoleCoordinator:
		c.Meta.GRPCAddr = "127.0.0.1:50051"
	case RoleWorker:
		c.Meta.DataAddr = fmt.Sprintf("127.0.0.1:%d", 40000+len(name))
	}
	return c
}

// startNode starts a node and closes it when the test ends.
func startNode(t *testing.T, cfg Config) *Membership {
	t.Helper()
	m, err := Start(cfg)
	if err != nil {
		t.Fatalf("Start(%s): %v", cfg.NodeName, err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close(%s): %v", cfg.NodeName, err)
		}
	})
	return m
}

// joinNode joins m to the cluster through seed.
func joinNode(t *testing.T, m *Membership, seed *Membership) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := m.Join(ctx, []string{seed.Addr()})
	if err != nil || n != 1 {
		t.Fatalf("%s.Join(%s) = %d, %v; want 1, nil", m.Local().Name, seed.Addr(), n, err)
	}
}

// waitEvent reads m's events until one of kind about node arrives, skipping
// (and logging) others; it fails the test after timeout.
func waitEvent(t *testing.T, m *Membership, kind EventKind, node string, timeout time.Duration) Event {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case ev, ok := <-m.Events():
			if !ok {
				t.Fatalf("%s: Events closed while waiting for %v of %s", m.Local().Name, kind, node)
			}
			if ev.Kind == kind && ev.Node.Name == node {
				return ev
			}
			t.Logf("%s: skipping event %v of %s", m.Local().Name, ev.Kind, ev.Node.Name)
		case <-deadline.C:
			t.Fatalf("%s: no %v event for %s within %v", m.Local().Name, kind, node, timeout)
		}
	}
}

// waitEvents reads m's events until it has one of kind about each of
// nodes (in any order), skipping others; it returns them by node name.
func waitEvents(t *testing.T, m *Membership, kind EventKind, nodes []string, timeout time.Duration) map[string]Event {
	t.Helper()
	got := make(map[string]Event, len(nodes))
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for len(got) < len(nodes) {
		select {
		case ev, ok := <-m.Events():
			if !ok {
				t.Fatalf("%s: Events closed while waiting for %v of %v", m.Local().Name, kind, nodes)
			}
			if ev.Kind == kind && slices.Contains(nodes, ev.Node.Name) {
				got[ev.Node.Name] = ev
				continue
			}
			t.Logf("%s: skipping event %v of %s", m.Local().Name, ev.Kind, ev.Node.Name)
		case <-deadline.C:
			t.Fatalf("%s: got %v events for %d of %v within %v", m.Local().Name, kind, len(got), nodes, timeout)
		}
	}
	return got
}

// noEvent fails if m reports an event of kind about node within d.
func noEvent(t *testing.T, m *Membership, kind EventKind, node string, d time.Duration) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		select {
		case ev, ok := <-m.Events():
			if !ok {
				return
			}
			if ev.Kind == kind && ev.Node.Name == node {
				t.Fatalf("%s: unexpected %v event for %s", m.Local().Name, kind, node)
			}
		case <-deadline.C:
			return
		}
	}
}

// memberNames returns the names in m.Members().
func memberNames(m *Membership) []string {
	var names []string
	for _, n := range m.Members() {
		names = append(names, n.Name)
	}
	return names
}

// splitPort splits "ip:port".
func splitPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return host, port
}
