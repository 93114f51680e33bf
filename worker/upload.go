package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"sync"

	"github.com/ringtrain/ringtrain/checkpoint"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// Saver receives checkpoint snapshots. Save may block while the previous
// snapshot is still being delivered (at most one is in flight); Flush waits
// until everything saved so far is durable at the coordinator.
type Saver interface {
	Save(ctx context.Context, snap Snapshot, manifest *checkpoint.Manifest) error
	Flush(ctx context.Context) error
}

// uploader streams snapshots to the coordinator (UploadShard) from its own
// goroutine, so training goes on while a shard is written.
type uploader struct {
	client pb.CoordinatorClient
	id     string
	gen    uint64
	rank   int
	world  int
	wg     sync.WaitGroup
	mu     sync.Mutex
	err    error
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// uploadChunk is the payload size of one ShardChunk message.
const uploadChunk = 1 << 20

func (u *uploader) Save(ctx context.Context, snap Snapshot, m *checkpoint.Manifest) error {
	if err := u.Flush(ctx); err != nil {
		return err
	}
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		if err := u.upload(ctx, snap, m); err != nil {
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
	var buf bytes.Buffer
	sh := &checkpoint.Shard{Step: snap.Step, Lo: snap.Lo, Hi: snap.Hi, Params: snap.Params, States: snap.States,
		Meta: map[string]string{"rank": fmt.Sprint(u.rank)}}
	if err := checkpoint.EncodeShard(&buf, sh); err != nil {
		return err
	}
	hdr := &pb.ShardHeader{WorkerId: u.id, Generation: u.gen, Step: snap.Step, Rank: int32(u.rank), WorldSize: int32(u.world),
		Size: int64(buf.Len()), Crc32C: crc32.Checksum(buf.Bytes(), castagnoli)}
	if m != nil {
		b, err := json.Marshal(m) // a draft without shards: the coordinator completes it
		if err != nil {
			return err
		}
		hdr.Manifest = b
	}
	stream, err := u.client.UploadShard(ctx)
	if err != nil {
		return err
	}
	if err := stream.Send(&pb.ShardChunk{Header: hdr}); err != nil {
		return err
	}
	for b := buf.Bytes(); len(b) > 0; {
		n := min(len(b), uploadChunk)
		if err := stream.Send(&pb.ShardChunk{Data: b[:n]}); err != nil {
			return err
		}
		b = b[n:]
	}
	_, err = stream.CloseAndRecv()
	return err
}
