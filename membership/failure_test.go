package membership

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/internal/testutil"
)

// detectTimeout bounds how long the tests wait for failure detection. The
// tuned config detects a crash in about 2-3s on loopback (see doc.go); the
// bound is generous because the test machine is shared and slow under -race.
const detectTimeout = 20 * time.Second

// A node closed without Leave is reported as failed; a restarted process
// reclaims its name from a new port; a graceful Leave is reported as a
// leave, not a failure.
func TestCrashIsFailAndLeaveIsLeave(t *testing.T) {
	a := startNode(t, testConfig("a", RoleCoordinator))
	b := startNode(t, testConfig("b", RoleWorker))
	cCfg := testConfig("c", RoleWorker)
	c, err := Start(cCfg)
	if err != nil {
		t.Fatal(err)
	}
	joinNode(t, b, a)
	joinNode(t, c, a)
	for _, n := range []*Membership{a, b, c} {
		testutil.Eventually(t, 10*time.Second, "3 members", func() bool { return len(n.Members()) == 3 })
	}

	// Crash: Close without Leave.
	crashAt := time.Now()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	var lastDetect time.Time
	for _, n := range []*Membership{a, b} {
		ev := waitEvent(t, n, EventFail, "c", detectTimeout)
		if ev.Node.State != StateDead || ev.Node.Meta != cCfg.Meta {
			t.Errorf("fail event %+v", ev)
		}
		t.Logf("crash of c detected by %s after %v", n.Local().Name, ev.At.Sub(crashAt).Round(time.Millisecond))
		if ev.At.After(lastDetect) {
			lastDetect = ev.At
		}
	}
	testutil.Eventually(t, 5*time.Second, "c gone from a's members", func() bool {
		return slices.Equal(memberNames(a), []string{"a", "b"})
	})

	// The restarted process gets a new port but keeps its name: the others
	// accept the new address once the old one has been dead for
	// DeadNodeReclaimTime (before that memberlist rejects it as a conflict).
	time.Sleep(time.Until(lastDetect.Add(cCfg.DeadNodeReclaimTime + 200*time.Millisecond)))
	c2Cfg := testConfig("c", RoleWorker)
	c2Cfg.Meta.ID = "c-restarted"
	c2 := startNode(t, c2Cfg)
	joinNode(t, c2, a)
	ev := waitEvent(t, a, EventJoin, "c", 10*time.Second)
	if ev.Node.Addr != c2.Addr() || ev.Node.Meta.ID != "c-restarted" {
		t.Errorf("rejoin event %+v, want addr %s", ev, c2.Addr())
	}

	// Graceful leave.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	leaveAt := time.Now()
	if err := b.Leave(ctx); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	t.Logf("b.Leave returned after %v", time.Since(leaveAt).Round(time.Millisecond))
	if got := b.Local().State; got != StateLeft {
		t.Errorf("b.Local().State = %q after Leave", got)
	}
	for _, n := range []*Membership{a, c2} {
		ev := waitEvent(t, n, EventLeave, "b", detectTimeout)
		if ev.Node.State != StateLeft || ev.Node.Meta.Role != RoleWorker {
			t.Errorf("leave event %+v", ev)
		}
		t.Logf("leave of b seen by %s after %v", n.Local().Name, ev.At.Sub(leaveAt).Round(time.Millisecond))
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	// A left node must not later be reported as failed.
	noEvent(t, a, EventFail, "b", 2*time.Second)
	if got := memberNames(a); !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("a's members after leave: %v", got)
	}
}
