package membership

import (
	"slices"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/internal/testutil"
)

// Three nodes join through one seed; every node sees every other node's
// metadata, and reports the others' joins.
func TestThreeNodesJoinViaOneSeed(t *testing.T) {
	cfgs := []Config{
		testConfig("coord", RoleCoordinator),
		testConfig("worker-1", RoleWorker),
		testConfig("worker-2", RoleWorker),
	}
	nodes := make([]*Membership, len(cfgs))
	for i, c := range cfgs {
		nodes[i] = startNode(t, c)
	}
	seed := nodes[0]
	for _, n := range nodes[1:] {
		joinNode(t, n, seed)
	}

	want := []string{"coord", "worker-1", "worker-2"}
	for _, n := range nodes {
		testutil.Eventually(t, 10*time.Second, n.Local().Name+" sees 3 members", func() bool {
			return slices.Equal(memberNames(n), want)
		})
		for i, member := range n.Members() { // sorted like cfgs
			if member.Meta != cfgs[i].Meta {
				t.Errorf("%s sees %s meta %+v, want %+v", n.Local().Name, member.Name, member.Meta, cfgs[i].Meta)
			}
			if member.State != StateAlive || member.Addr == "" {
				t.Errorf("%s sees %s as %+v", n.Local().Name, member.Name, member)
			}
		}
	}
	if got := nodes[0].Members()[1].Addr; got != nodes[1].Addr() {
		t.Errorf("coord sees worker-1 at %s, worker-1 says %s", got, nodes[1].Addr())
	}
	for i, n := range nodes {
		var others []string
		for j, c := range cfgs {
			if j != i {
				others = append(others, c.NodeName)
			}
		}
		joins := waitEvents(t, n, EventJoin, others, 10*time.Second)
		for j, c := range cfgs {
			if j == i {
				continue
			}
			ev := joins[c.NodeName]
			if ev.Node.Meta != c.Meta || ev.Node.State != StateAlive || ev.At.IsZero() {
				t.Errorf("%s: join event %+v, want meta %+v", n.Local().Name, ev, c.Meta)
			}
		}
	}
}
