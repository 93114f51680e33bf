package worker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/internal/testutil"
	"github.com/ringtrain/ringtrain/membership"
)

func gossipNode(t *testing.T, name string, role membership.Role, id string) *membership.Membership {
	t.Helper()
	cfg := membership.DefaultConfig()
	cfg.NodeName, cfg.BindAddr, cfg.BindPort = name, "127.0.0.1", 0
	cfg.Secret = []byte("worker-liveness-test-secret-0123456789")
	cfg.RunKey = []byte("worker-liveness-test-run-key-0123")
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Meta = membership.Meta{Role: role, ID: id, Version: "test"}
	if role == membership.RoleWorker {
		cfg.Meta.DataAddr = "127.0.0.1:1"
	} else {
		cfg.Meta.GRPCAddr = "127.0.0.1:2"
	}
	m, err := membership.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func hasMember(m *membership.Membership, name string) bool {
	return slices.ContainsFunc(m.Members(), func(n membership.Node) bool { return n.Name == name })
}

// Real memberlist nodes on loopback: the watcher of a worker ignores the
// failure of another worker and of another run's coordinator, and reports
// its own coordinator's crash (Close without Leave: silence, as when the
// process is stopped) as the coordinator's loss, naming the node.
func TestWatchCoordinatorGossip(t *testing.T) {
	coord := gossipNode(t, "coordinator-run-a", membership.RoleCoordinator, "run-a")
	other := gossipNode(t, "coordinator-run-b", membership.RoleCoordinator, "run-b")
	w := gossipNode(t, "w1", membership.RoleWorker, "w1")
	peer := gossipNode(t, "w2", membership.RoleWorker, "w2")
	gone := gossipNode(t, "w3", membership.RoleWorker, "w3")
	for _, m := range []*membership.Membership{other, w, peer, gone} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := m.Join(ctx, []string{coord.Addr()})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, 10*time.Second, "the worker sees 5 members", func() bool { return len(w.Members()) == 5 })

	ctx, cancel := context.WithCancel(context.Background())
	lost := make(chan error, 2)
	done := make(chan struct{})
	go func() {
		defer close(done)
		watchCoordinator(ctx, w.Events(), "run-a", "127.0.0.1:7070", func(err error) { lost <- err })
	}()
	defer func() { cancel(); <-done }()

	other.Close()
	gone.Close()
	testutil.Eventually(t, 30*time.Second, "the worker sees the other run's coordinator and a peer dead", func() bool {
		return !hasMember(w, "coordinator-run-b") && !hasMember(w, "w3")
	})
	closed := time.Now()
	coord.Close()
	select {
	case err := <-lost:
		if !errors.Is(err, errCoordinatorLost) || !strings.Contains(err.Error(), "coordinator-run-a dead") ||
			!strings.Contains(err.Error(), "127.0.0.1:7070") {
			t.Fatalf("lost: %v", err)
		}
		t.Logf("coordinator closed -> lost after %v: %v", time.Since(closed), err)
	case <-time.After(60 * time.Second):
		t.Fatal("the coordinator's failure was not reported")
	}
	select {
	case <-done: // the watcher returns after reporting
	case <-time.After(10 * time.Second):
		t.Fatal("the watcher did not return after reporting the loss")
	}
	if len(lost) != 0 {
		t.Fatalf("reported twice: %v", <-lost)
	}
}

// The watcher stops when its session ends, or when the membership closes
// its event channel, without reporting anything.
func TestWatchCoordinatorStops(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(cancel context.CancelFunc, m *membership.Membership)
	}{
		{"the session ends", func(cancel context.CancelFunc, _ *membership.Membership) { cancel() }},
		{"the membership closes", func(_ context.CancelFunc, m *membership.Membership) { m.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := gossipNode(t, "w1", membership.RoleWorker, "w1")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan struct{})
			reported := make(chan error, 1)
			go func() {
				defer close(done)
				watchCoordinator(ctx, m.Events(), "run-a", "127.0.0.1:7070", func(err error) { reported <- err })
			}()
			tc.stop(cancel, m)
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the watcher did not stop")
			}
			if len(reported) != 0 {
				t.Fatalf("reported %v", <-reported)
			}
		})
	}
}
