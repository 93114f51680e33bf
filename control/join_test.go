package control_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/control"
	"github.com/ringtrain/ringtrain/internal/testcluster"
	"github.com/ringtrain/ringtrain/internal/testutil"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// Join waits for a coordinator that is not up yet, gives up with an
// *UnreachableError after its timeout when none comes, and takes a refusal
// for good at once.
func TestJoin(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version string
		timeout time.Duration
		// start: when to start the coordinator on the address (< 0: never;
		// 0: before joining).
		start   time.Duration
		refused string // the refusal's text; "" when Join should succeed or time out
		gaveUp  bool
	}{
		{name: "up already", version: "v1", timeout: 10 * time.Second},
		{name: "up after the first attempts", version: "v1", timeout: 30 * time.Second, start: 500 * time.Millisecond},
		{name: "never up", version: "v1", timeout: 400 * time.Millisecond, start: -1, gaveUp: true},
		{name: "another version", version: "v0", timeout: 10 * time.Second, refused: "join refused: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := testutil.FreeAddr(t)
			start := func() {
				testcluster.StartCoordinator(t, testcluster.OneWorkerJob(), testcluster.Options{Addr: addr, RunID: "control"})
			}
			if tc.start == 0 {
				start()
			}
			c := testcluster.Dial(t, addr, []byte(testcluster.DefaultSecret))
			type result struct {
				resp *pb.JoinResponse
				err  error
			}
			joined := make(chan result, 1)
			go func() {
				resp, err := c.Join(context.Background(), &pb.JoinRequest{Version: tc.version, DataAddr: "127.0.0.1:9"}, tc.timeout)
				joined <- result{resp, err}
			}()
			if tc.start > 0 {
				time.Sleep(tc.start) // Join is trying meanwhile
				start()
			}
			res := <-joined
			resp, err := res.resp, res.err
			var ue *control.UnreachableError
			switch {
			case tc.refused != "":
				if err == nil || !strings.HasPrefix(err.Error(), tc.refused) || !strings.Contains(err.Error(), "v0") || errors.As(err, &ue) {
					t.Fatalf("Join: %v, want a refusal naming the version", err)
				}
			case tc.gaveUp:
				if !errors.As(err, &ue) || ue.Timeout != tc.timeout || ue.Last == nil ||
					!strings.HasPrefix(err.Error(), "coordinator unreachable for 400ms: ") {
					t.Fatalf("Join: %v, want an *UnreachableError after %v", err, tc.timeout)
				}
			case err != nil || resp.WorkerId == "":
				t.Fatalf("Join: %v %+v, want admitted", err, resp)
			}
		})
	}
}
