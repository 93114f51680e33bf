package coordinator

import (
	"context"
	"crypto/tls"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ringtrain/ringtrain/control"
	"github.com/ringtrain/ringtrain/internal/secret"
	"github.com/ringtrain/ringtrain/job"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// rpcCalls makes one call of every control-plane method and returns its
// error (for streams: the first receive's, or the close's).
var rpcCalls = map[string]func(context.Context, pb.CoordinatorClient) error{
	"Join": func(ctx context.Context, c pb.CoordinatorClient) error {
		_, err := c.Join(ctx, &pb.JoinRequest{Version: "v1", DataAddr: "127.0.0.1:9"})
		return err
	},
	"WatchPlan": func(ctx context.Context, c pb.CoordinatorClient) error {
		st, err := c.WatchPlan(ctx, &pb.WatchPlanRequest{WorkerId: "w"})
		if err != nil {
			return err
		}
		_, err = st.Recv()
		return err
	},
	"Report": func(ctx context.Context, c pb.CoordinatorClient) error {
		_, err := c.Report(ctx, &pb.ReportRequest{WorkerId: "w"})
		return err
	},
	"Status": func(ctx context.Context, c pb.CoordinatorClient) error {
		_, err := c.Status(ctx, &pb.StatusRequest{})
		return err
	},
	"UploadShard": func(ctx context.Context, c pb.CoordinatorClient) error {
		st, err := c.UploadShard(ctx)
		if err != nil {
			return err
		}
		st.Send(&pb.ShardChunk{})
		_, err = st.CloseAndRecv()
		return err
	},
	"GetCheckpoint": func(ctx context.Context, c pb.CoordinatorClient) error {
		_, err := c.GetCheckpoint(ctx, &pb.GetCheckpointRequest{})
		return err
	},
	"DownloadRange": func(ctx context.Context, c pb.CoordinatorClient) error {
		st, err := c.DownloadRange(ctx, &pb.DownloadRangeRequest{})
		if err != nil {
			return err
		}
		_, err = st.Recv()
		return err
	},
}

// Every method of the service is in rpcCalls, so a new RPC cannot escape
// the test below.
func TestEveryRPCIsCovered(t *testing.T) {
	var names []string
	for _, m := range pb.Coordinator_ServiceDesc.Methods {
		names = append(names, m.MethodName)
	}
	for _, s := range pb.Coordinator_ServiceDesc.Streams {
		names = append(names, s.StreamName)
	}
	for _, n := range names {
		if rpcCalls[n] == nil {
			t.Errorf("RPC %s is not in rpcCalls", n)
		}
	}
	if len(names) != len(rpcCalls) {
		t.Errorf("service has %d RPCs, rpcCalls %d", len(names), len(rpcCalls))
	}
}

// A node without this cluster's CA-signed certificate, or without its
// secret, cannot call any RPC; nothing it tried changed the coordinator.
func TestOutsidersCannotCallAnyRPC(t *testing.T) {
	s := startServer(t, 2)
	otherSecret := []byte("another-cluster-secret-0123456789")
	goodTok, _ := secret.ControlToken(testSecret)
	badTok, _ := secret.ControlToken(otherSecret)
	noCert := clusterTLS.ClientConfig("127.0.0.1")
	noCert.Certificates = nil
	for _, tc := range []struct {
		name string
		tls  *tls.Config
		tok  string
		code codes.Code
	}{
		{"another cluster's CA", otherTLS.ClientConfig("127.0.0.1"), goodTok, codes.Unavailable},
		{"no client certificate", noCert, goodTok, codes.Unavailable},
		{"plaintext", nil, goodTok, codes.Unavailable},
		{"right certificate, another secret", clusterTLS.ClientConfig("127.0.0.1"), badTok, codes.Unauthenticated},
		{"right certificate, no token", clusterTLS.ClientConfig("127.0.0.1"), "", codes.Unauthenticated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := control.DialOptions(tc.tls, tc.tok)
			if tc.tok == "" {
				opts = opts[:1]
			}
			conn, err := grpc.NewClient(s.Addr(), opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			c := pb.NewCoordinatorClient(conn)
			names := make([]string, 0, len(rpcCalls))
			for n := range rpcCalls {
				names = append(names, n)
			}
			slices.Sort(names)
			for _, n := range names {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err := rpcCalls[n](ctx, c)
				cancel()
				if status.Code(err) != tc.code {
					t.Errorf("%s: %v, want %v", n, err, tc.code)
				}
			}
		})
	}
	st, err := client(t, s.Addr(), testSecret).Status(context.Background(), &pb.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Members) != 0 {
		t.Fatalf("outsiders joined: %v", st.Members)
	}
}

// The plaintext configuration is explicit, and a client refuses to send
// the token over plaintext unless told that plaintext is meant.
func TestPlaintextIsExplicit(t *testing.T) {
	if _, err := Start(Config{Job: job.Default(), Secret: testSecret}); err == nil {
		t.Fatal("Start without TLS or Insecure must fail")
	}
	s := startServer(t, 2)
	_, err := grpc.NewClient(s.Addr(), control.DialOptions(nil, "x")[0], grpc.WithPerRPCCredentials(control.Credentials{Token: "x"}))
	if err == nil || !strings.Contains(err.Error(), "transport level security") {
		t.Fatalf("a token over plaintext without Insecure: %v, want refusal", err)
	}
}
