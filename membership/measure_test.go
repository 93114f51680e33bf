package membership

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/internal/testutil"
)

// TestMeasureDetection measures crash detection in an N-node loopback
// cluster with the default timing: every survivor's EventFail delay after
// Close, over several crashes. Opt-in (it takes about 5s per crash):
//
//	RINGTRAIN_MEASURE=1 go test -run TestMeasureDetection -v ./membership/
func TestMeasureDetection(t *testing.T) {
	if os.Getenv("RINGTRAIN_MEASURE") == "" {
		t.Skip("set RINGTRAIN_MEASURE=1 to measure failure detection")
	}
	const n, crashes = 6, 4
	nodes := make([]*Membership, n)
	for i := range nodes {
		role := RoleWorker
		if i == 0 {
			role = RoleCoordinator
		}
		m, err := Start(testConfig(fmt.Sprintf("n%d", i), role))
		if err != nil {
			t.Fatal(err)
		}
		nodes[i] = m
		t.Cleanup(func() { _ = m.Close() })
		if i > 0 {
			joinNode(t, m, nodes[0])
		}
	}
	for _, m := range nodes {
		testutil.Eventually(t, 10*time.Second, "all members", func() bool { return len(m.Members()) == n })
	}
	var all []time.Duration
	for c := range crashes {
		victim := nodes[len(nodes)-1]
		name := victim.Local().Name
		nodes = nodes[:len(nodes)-1]
		at := time.Now()
		if err := victim.Close(); err != nil {
			t.Fatal(err)
		}
		var ds []time.Duration
		for _, m := range nodes {
			ev := waitEvent(t, m, EventFail, name, detectTimeout)
			ds = append(ds, ev.At.Sub(at).Round(time.Millisecond))
		}
		all = append(all, ds...)
		t.Logf("crash %d (%d survivors): detected after %v", c+1, len(nodes), ds)
	}
	slices.Sort(all)
	t.Logf("detection over %d observations: min %v, median %v, max %v",
		len(all), all[0], all[len(all)/2], all[len(all)-1])
}
