package worker

import (
	"context"
	"time"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/control"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// Control is the coordinator as the worker uses it: the control plane's
// calls, in the worker's terms (messages, manifests, shards and float32
// ranges; no streams). control.Client implements it over gRPC; the
// worker's logic (sessions, generations, the uploader, the reporter,
// restores) knows only this interface.
type Control interface {
	// Join admits this worker, retrying while the coordinator is
	// unreachable, for up to timeout.
	Join(ctx context.Context, req *pb.JoinRequest, timeout time.Duration) (*pb.JoinResponse, error)
	// WatchPlan opens the stream of workerID's plans.
	WatchPlan(ctx context.Context, workerID string) (PlanStream, error)
	// Report delivers one report.
	Report(ctx context.Context, req *pb.ReportRequest) error
	// UploadShard stores shard durably at the coordinator (with rank 0's
	// manifest draft; nil on the other ranks).
	UploadShard(ctx context.Context, hdr *pb.ShardHeader, shard *checkpoint.Shard, draft *checkpoint.Manifest) error
	// GetCheckpoint returns the manifest of the committed checkpoint of step.
	GetCheckpoint(ctx context.Context, step int64) (checkpoint.Manifest, error)
	// DownloadRange fills dst ("params", or every optimizer state when
	// state is set) with the flat range [lo, hi) of step.
	DownloadRange(ctx context.Context, step int64, lo, hi int, state bool, dst map[string][]float32) error
}

// PlanStream is the coordinator's stream of plans: Recv returns the next,
// or an error when the stream has ended. (An alias of an unnamed
// interface: the same type as control.PlanStream.)
type PlanStream = interface {
	Recv() (*pb.Plan, error)
}

// The gRPC client is the worker's Control.
var _ Control = (*control.Client)(nil)
