package worker

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ringtrain/ringtrain/checkpoint"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// Saver receives checkpoint snapshots. Save starts delivering one (at most
// one is in flight; Save waits for the previous); Flush waits until
// everything saved so far is durable at the coordinator. The snapshot's
// buffers must not change until Flush returns.
type Saver interface {
	Save(ctx context.Context, snap Snapshot, manifest *checkpoint.Manifest) error
	Flush(ctx context.Context) error
}

// uploader streams snapshots to the coordinator (Control.UploadShard) from
// its own goroutine, so training goes on while a shard is written.
//
// The coordinator answers codes.Aborted when it could not store the
// checkpoint (its disk is full, read-only or failing): that checkpoint
// failed, not this worker. The uploader logs it and training goes on; the
// coordinator counts the failures and stops the run after
// checkpoint.max_failures in a row. Any other error fails this generation.
type uploader struct {
	client Control
	log    *slog.Logger
	id     string
	gen    uint64
	rank   int
	world  int
	wg     sync.WaitGroup
	mu     sync.Mutex
	err    error
}

func (u *uploader) Save(ctx context.Context, snap Snapshot, m *checkpoint.Manifest) error {
	if err := u.Flush(ctx); err != nil {
		return err
	}
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		err := u.upload(ctx, snap, m)
		switch {
		case err == nil:
		case status.Code(err) == codes.Aborted:
			u.log.Warn("checkpoint not stored by the coordinator; training goes on", "step", snap.Step, "err", status.Convert(err).Message())
		default:
			u.mu.Lock()
			u.err = fmt.Errorf("checkpoint at step %d: %w", snap.Step, err)
			u.mu.Unlock()
		}
	}()
	return nil
}

func (u *uploader) Flush(ctx context.Context) error {
	u.wg.Wait()
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.err
}

func (u *uploader) upload(ctx context.Context, snap Snapshot, m *checkpoint.Manifest) error {
	hdr := &pb.ShardHeader{WorkerId: u.id, Generation: u.gen, Step: snap.Step, Rank: int32(u.rank), WorldSize: int32(u.world)}
	sh := &checkpoint.Shard{Step: snap.Step, Lo: snap.Lo, Hi: snap.Hi, Params: snap.Params, States: snap.States,
		Meta: map[string]string{"rank": fmt.Sprint(u.rank)}}
	return u.client.UploadShard(ctx, hdr, sh, m) // m: a draft without shards, the coordinator completes it
}
