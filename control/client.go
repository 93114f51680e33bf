package control

import (
	"context"
	"crypto/tls"
	"fmt"

	"google.golang.org/grpc"

	"github.com/ringtrain/ringtrain/checkpoint"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// Client is a worker's side of the control plane: one connection to the
// coordinator, and a method per call the worker makes.
type Client struct {
	rpc  pb.CoordinatorClient
	conn *grpc.ClientConn // nil when the caller owns the connection (New)
}

// Dial returns a client of the coordinator at addr (host:port): mutual TLS
// with tlsCfg, or plaintext when tlsCfg is nil, and token on every call
// (DialOptions), plus extra options (keepalive, a dialer). Like
// grpc.NewClient it connects on the first call; Close releases it.
func Dial(addr string, tlsCfg *tls.Config, token string, extra ...grpc.DialOption) (*Client, error) {
	conn, err := grpc.NewClient(addr, append(DialOptions(tlsCfg, token), extra...)...)
	if err != nil {
		return nil, fmt.Errorf("coordinator address %q: %w", addr, err)
	}
	return &Client{rpc: pb.NewCoordinatorClient(conn), conn: conn}, nil
}

// New returns a client over a connection the caller made and closes.
func New(cc grpc.ClientConnInterface) *Client {
	return &Client{rpc: pb.NewCoordinatorClient(cc)}
}

// Close closes the connection Dial made (nothing for New's).
func (c *Client) Close() error {
	if c.conn == nil {
		return nil
	}
	return c.conn.Close()
}

// PlanStream is the coordinator's stream of plans for one worker; Recv
// returns the next (an error when the stream ends). It is an alias of an
// unnamed interface, so that a consumer can declare the same type without
// importing this package.
type PlanStream = interface {
	Recv() (*pb.Plan, error)
}

// WatchPlan opens the stream of workerID's plans; it ends with ctx.
func (c *Client) WatchPlan(ctx context.Context, workerID string) (PlanStream, error) {
	return c.rpc.WatchPlan(ctx, &pb.WatchPlanRequest{WorkerId: workerID})
}

// Report delivers one report.
func (c *Client) Report(ctx context.Context, req *pb.ReportRequest) error {
	_, err := c.rpc.Report(ctx, req)
	return err
}

// Status is the coordinator's view of the run.
func (c *Client) Status(ctx context.Context) (*pb.StatusResponse, error) {
	return c.rpc.Status(ctx, &pb.StatusRequest{})
}

// GetCheckpoint returns the manifest of the committed checkpoint of step,
// checked (format, self-checksum, consistency) as the store checks a file.
func (c *Client) GetCheckpoint(ctx context.Context, step int64) (checkpoint.Manifest, error) {
	resp, err := c.rpc.GetCheckpoint(ctx, &pb.GetCheckpointRequest{Step: step})
	if err != nil {
		return checkpoint.Manifest{}, err
	}
	m, err := checkpoint.DecodeManifest(resp.Manifest)
	if err != nil {
		return checkpoint.Manifest{}, fmt.Errorf("manifest: %w", err)
	}
	return m, nil
}
