package coordinator

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/internal/testutil"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// running is a server (startServer) whose first generation runs: n workers
// joined over one client, in order, their plan streams open.
type running struct {
	s   *Server
	c   pb.CoordinatorClient
	ids []string // the workers' ids in the order they joined
	gen uint64   // the running generation
}

func startRunning(t *testing.T, n int) running {
	t.Helper()
	r := running{s: startServer(t, n)}
	r.c = client(t, r.s.Addr(), testSecret)
	ctx := context.Background()
	for i := range n {
		resp, err := r.c.Join(ctx, &pb.JoinRequest{Version: "v1", DataAddr: fmt.Sprintf("127.0.0.1:%d", 10+i)})
		if err != nil {
			t.Fatal(err)
		}
		r.ids = append(r.ids, resp.WorkerId)
		mustStream(t, r.c, resp.WorkerId)
	}
	testutil.Eventually(t, 5*time.Second, "a running generation", func() bool {
		st, _ := r.c.Status(ctx, &pb.StatusRequest{})
		r.gen = st.GetGeneration()
		return st.GetPhase() == "running"
	})
	return r
}
