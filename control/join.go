package control

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// Join asks the coordinator to admit a worker. While the coordinator is
// unreachable (codes.Unavailable or DeadlineExceeded: not up yet,
// restarting) it tries again, backing off from 100 ms to 2 s, until timeout
// has passed: then the error is an *UnreachableError. Any other answer is a
// refusal for good (another version, another job, a run that is over):
// "join refused: " and the coordinator's reason.
func (c *Client) Join(ctx context.Context, req *pb.JoinRequest, timeout time.Duration) (*pb.JoinResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	backoff := 100 * time.Millisecond
	for {
		resp, err := c.rpc.Join(ctx, req)
		if err == nil {
			return resp, nil
		}
		switch status.Code(err) {
		case codes.Unavailable, codes.DeadlineExceeded:
		default:
			return nil, fmt.Errorf("join refused: %s", status.Convert(err).Message())
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, &UnreachableError{Timeout: timeout, Last: err}
		case <-t.C:
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// UnreachableError: Join kept failing to reach the coordinator until its
// timeout passed.
type UnreachableError struct {
	Timeout time.Duration
	Last    error // the last attempt's error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("coordinator unreachable for %v: %v", e.Timeout, e.Last)
}

func (e *UnreachableError) Unwrap() error { return e.Last }
