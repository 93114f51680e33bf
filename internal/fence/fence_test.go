package fence

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func withInfo(code codes.Code, domain, reason string) error {
	st, err := status.New(code, "refused").WithDetails(&errdetails.ErrorInfo{Domain: domain, Reason: reason})
	if err != nil {
		panic(err)
	}
	return st.Err()
}

func TestIsStale(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"the refusal", Refuse(7, 9), true},
		{"the refusal, wrapped", fmt.Errorf("checkpoint at step 400: %w", Refuse(7, 9)), true},
		{"the refusal, wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", Refuse(7, 9))), true},
		{"the refusal of an ended generation", RefuseEnded(7), true},
		{"nil", nil, false},
		{"a bare EOF", io.EOF, false},
		{"a plain error saying stale generation", errors.New("stale generation 7: the run is at generation 9"), false},
		{"FailedPrecondition without a detail", status.Error(codes.FailedPrecondition, "stale generation 7"), false},
		{"the detail on another code", withInfo(codes.Aborted, Domain, ReasonStaleGeneration), false},
		{"another reason", withInfo(codes.FailedPrecondition, Domain, "VERSION_MISMATCH"), false},
		{"another domain", withInfo(codes.FailedPrecondition, "example.com", ReasonStaleGeneration), false},
		{"unavailable", status.Error(codes.Unavailable, "connection refused"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsStale(tc.err); got != tc.want {
				t.Fatalf("IsStale(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestRefuseNamesBothGenerations(t *testing.T) {
	err := Refuse(7, 9)
	st := status.Convert(err)
	if st.Code() != codes.FailedPrecondition || !strings.Contains(st.Message(), "stale generation 7: the run is at generation 9") {
		t.Fatalf("%v", err)
	}
	info, ok := st.Details()[0].(*errdetails.ErrorInfo)
	if !ok || info.Metadata["generation"] != "7" || info.Metadata["current"] != "9" {
		t.Fatalf("details %v", st.Details())
	}
}
