package worker

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine a trainer or a worker starts (the communication goroutine
// of the overlap, uploaders, reporters, liveness) is stopped by the time
// its owner returns. One exception, not ours: memberlist's Shutdown stops
// its probe scheduler but does not wait for a probe already in flight
// (Memberlist.probeNode waits for its ack timer, up to ProbeInterval, then
// returns by itself), which goleak's retries (about 0.4 s) sometimes
// outlast after the last test's Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/hashicorp/memberlist.(*Memberlist).probeNode"))
}
