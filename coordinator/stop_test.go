package coordinator

import (
	"strings"
	"testing"
)

// Stop (an interrupted launch, a coordinator shutting down) ends the run
// without failing it: every plan is STOP and not failed, and the workers
// that go away afterwards are neither failures nor a pause.
func TestCoreStop(t *testing.T) {
	for _, tc := range []struct {
		name    string
		elastic bool
		before  func(c *Core)
		phase   Phase
		stopped bool // Stop took effect
	}{
		{"running, elastic", true, func(c *Core) {}, PhaseStopped, true},
		{"running, not elastic", false, func(c *Core) {}, PhaseStopped, true},
		{"after done", true, func(c *Core) { c.Done() }, PhaseDone, false},
		{"after a failure", true, func(c *Core) { c.Failure("a", "bad data") }, PhaseFailed, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testCore(1, 2, 0)
			c.cfg.Elastic = tc.elastic
			c.Join("a", "a:1")
			c.Join("b", "b:1")
			tc.before(c)
			c.TakeEvents()
			c.Stop("interrupted")
			// The workers leave as they are signalled.
			c.Fail("a", "control stream closed")
			c.Leave("b")
			c.Failure("b", "context canceled")
			c.Stalled(c.Generation(), "no progress")
			if c.Phase() != tc.phase || !c.Ended() {
				t.Fatalf("phase %s, want %s", c.Phase(), tc.phase)
			}
			var kinds []string
			for _, e := range c.TakeEvents() {
				kinds = append(kinds, e.Kind.String()+": "+e.Message)
			}
			want := []string{}
			if tc.stopped {
				want = []string{"stopped: run stopped: interrupted"}
			}
			if strings.Join(kinds, "\n") != strings.Join(want, "\n") {
				t.Fatalf("events %q, want %q", kinds, want)
			}
			for _, id := range []string{"a", "b", "new"} {
				if id == "new" {
					c.Join("new", "n:1")
				}
				p := c.PlanFor(id)
				if p.Action != ActionStop || (p.Failed != (tc.phase == PhaseFailed)) {
					t.Errorf("plan of %s: %+v", id, p)
				}
			}
		})
	}
}
