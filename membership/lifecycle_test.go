package membership

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/internal/testutil"
)

func TestSingleNodeLifecycle(t *testing.T) {
	cfg := testConfig("solo", RoleCoordinator)
	m, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	local := m.Local()
	if local.Name != "solo" || local.Meta != cfg.Meta || local.State != StateAlive || local.Addr != m.Addr() {
		t.Errorf("Local() = %+v", local)
	}
	if got := m.Members(); len(got) != 1 || got[0] != local {
		t.Errorf("Members() = %+v", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := m.Join(ctx, nil); !errors.Is(err, ErrJoinFailed) {
		t.Errorf("Join(no seeds) = %v", err)
	}
	if _, err := m.Join(ctx, []string{" "}); !errors.Is(err, ErrJoinFailed) {
		t.Errorf("Join(empty seed) = %v", err)
	}
	start := time.Now()
	if err := m.Leave(ctx); err != nil { // alone: nobody to tell
		t.Errorf("Leave alone: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Leave alone took %v", d)
	}
	if err := m.Leave(ctx); err != nil {
		t.Errorf("second Leave = %v, want nil", err)
	}
	if m.Local().State != StateLeft {
		t.Errorf("state after Leave: %s", m.Local().State)
	}
	if _, err := m.Join(ctx, []string{"127.0.0.1:1"}); !errors.Is(err, ErrLeft) {
		t.Errorf("Join after Leave = %v, want ErrLeft", err)
	}
	if err := m.UpdateMeta(ctx, cfg.Meta); !errors.Is(err, ErrLeft) {
		t.Errorf("UpdateMeta after Leave = %v, want ErrLeft", err)
	}

	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if _, ok := <-m.Events(); ok {
		t.Error("Events not closed by Close")
	}
	if err := m.Leave(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Leave after Close = %v, want ErrClosed", err)
	}
	if _, err := m.Join(ctx, []string{"127.0.0.1:1"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Join after Close = %v, want ErrClosed", err)
	}
	if err := m.UpdateMeta(ctx, cfg.Meta); !errors.Is(err, ErrClosed) {
		t.Errorf("UpdateMeta after Close = %v, want ErrClosed", err)
	}
}

// Join keeps retrying an unreachable seed until its context ends, and a
// node that comes up meanwhile is joined.
func TestJoinRetriesUntilSeedIsUp(t *testing.T) {
	// Find a free port, then free it.
	probe := startNode(t, testConfig("probe", RoleWorker))
	addr := probe.Addr()
	_, port := splitPort(t, addr)
	if err := probe.Close(); err != nil {
		t.Fatal(err)
	}

	m := startNode(t, testConfig("joiner", RoleWorker))
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := m.Join(ctx, []string{addr}); !errors.Is(err, ErrJoinFailed) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Join(unreachable) = %v", err)
	}

	// Start the seed on that port while Join is retrying.
	seedCfg := testConfig("seed", RoleCoordinator)
	seedCfg.BindPort = port
	ctx2, cancel2 := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel2()
	type result struct {
		n   int
		err error
	}
	res := make(chan result, 1)
	go func() {
		n, err := m.Join(ctx2, []string{addr})
		res <- result{n, err}
	}()
	time.Sleep(300 * time.Millisecond)
	seed, err := Start(seedCfg)
	if err != nil {
		t.Skipf("port %d was taken meanwhile: %v", port, err)
	}
	t.Cleanup(func() { _ = seed.Close() })
	r := <-res
	if r.err != nil || r.n != 1 {
		t.Fatalf("Join = %d, %v", r.n, r.err)
	}
	testutil.Eventually(t, 5*time.Second, "seed sees joiner", func() bool {
		return slices.Equal(memberNames(seed), []string{"joiner", "seed"})
	})
}

// Close returns promptly while a Join is retrying, and the Join returns
// ErrClosed.
func TestCloseStopsJoin(t *testing.T) {
	m, err := Start(testConfig("closer", RoleWorker))
	if err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 1)
	go func() {
		_, err := m.Join(context.Background(), []string{"127.0.0.1:1"})
		res <- err
	}()
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-res; !errors.Is(err, ErrClosed) {
		t.Errorf("Join during Close = %v, want ErrClosed", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
}
