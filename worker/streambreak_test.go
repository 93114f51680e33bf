package worker

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A plan stream broken by an unanswered keepalive says so, however gRPC
// reports it; other breaks say the stream broke.
func TestStreamBreak(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"keepalive ping", status.Error(codes.Unavailable, "keepalive ping failed to receive ACK within timeout"), "unresponsive (no answer to keepalive pings within 10s"},
		{"TCP user timeout", status.Error(codes.Unavailable, "error reading from server: read tcp 127.0.0.1:1->127.0.0.1:2: read: connection timed out"), "unresponsive (no answer to keepalive pings"},
		{"closed", status.Error(codes.Unavailable, "error reading from server: EOF"), "control stream broken (Unavailable: error reading from server: EOF)"},
		{"other code", status.Error(codes.Internal, "connection timed out"), "control stream broken (Internal"},
		{"not gRPC", errors.New("boom"), "control stream broken (boom)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := streamBreak(tc.err); !strings.Contains(got, tc.want) {
				t.Fatalf("streamBreak = %q, want it to contain %q", got, tc.want)
			}
		})
	}
}
