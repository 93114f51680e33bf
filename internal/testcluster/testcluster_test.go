package testcluster

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ringtrain/ringtrain/coordinator"
)

// A started coordinator admits a joined worker into a generation of one
// (its first plan: RUN), and shows it running in Status; a client with
// another secret is refused.
func TestStartCoordinatorAndJoin(t *testing.T) {
	for _, tc := range []struct {
		name   string
		secret []byte // nil: DefaultSecret
	}{
		{"the default secret", nil},
		{"a secret of the test's", []byte("another-test-secret-0123456789abcdef")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := StartCoordinator(t, OneWorkerJob(), Options{Secret: tc.secret})
			if c.Addr != c.Server.Addr() || !strings.HasPrefix(c.Addr, "127.0.0.1:") {
				t.Fatalf("Addr %q, server at %q", c.Addr, c.Server.Addr())
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			j := Join(t, ctx, c.Client)
			if j.ID == "" || j.ID != j.Resp.WorkerId || j.Waits != 0 || j.Plan.Generation == 0 || j.Plan.WorldSize != 1 || j.Plan.Rank != 0 {
				t.Fatalf("joined %+v", j)
			}
			st, err := c.Client.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.GetPhase() != string(coordinator.PhaseRunning) || st.GetWorldSize() != 1 || len(st.GetMembers()) != 1 {
				t.Fatalf("status: phase %q, world size %d, %d members; want running, 1, 1", st.GetPhase(), st.GetWorldSize(), len(st.GetMembers()))
			}
			other := []byte("not-the-cluster-secret-0123456789abc")
			_, err = Dial(t, c.Addr, other).Status(ctx)
			if status.Code(err) != codes.Unauthenticated {
				t.Fatalf("status with another secret: %v, want Unauthenticated", err)
			}
			if Token(t, c.Secret) != c.Token {
				t.Fatal("the coordinator's token is not its secret's")
			}
		})
	}
}
