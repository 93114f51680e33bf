package control_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ringtrain/ringtrain/internal/testcluster"
)

// Every goroutine the tests start (clients, coordinators, streams) has
// ended when they have.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// joinRun starts a real coordinator of a one-worker job that checkpoints
// (testcluster.OneWorkerJob), joins it and waits for the first RUN plan.
func joinRun(t *testing.T) (*testcluster.Coordinator, *testcluster.Joined) {
	t.Helper()
	c := testcluster.StartCoordinator(t, testcluster.OneWorkerJob(), testcluster.Options{RunID: "control"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c, testcluster.Join(t, ctx, c.Client)
}
