package worker

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine a trainer or a worker starts (the communication goroutine
// of the overlap, uploaders, reporters, liveness) is stopped by the time
// its owner returns.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
