package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
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

// uploader streams snapshots to the coordinator (UploadShard) from its own
// goroutine, so training goes on while a shard is written.
//
// The coordinator answers codes.Aborted when it could not store the
// checkpoint (its disk is full, read-only or failing): that checkpoint
// failed, not this worker. The uploader logs it and training goes on; the
// coordinator counts the failures and stops the run after
// checkpoint.max_failures in a row. Any other error fails this generation.
type uploader struct {
	client pb.CoordinatorClient
	log    *slog.Logger
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
		return answer(stream, err)
	}
	w := &chunkWriter{stream: stream, buf: make([]byte, 0, uploadChunk)}
	sh := &checkpoint.Shard{Step: snap.Step, Lo: snap.Lo, Hi: snap.Hi, Params: snap.Params, States: snap.States,
		Meta: map[string]string{"rank": fmt.Sprint(u.rank)}}
	if err := checkpoint.EncodeShard(w, sh); err != nil {
		return answer(stream, err)
	}
	if err := w.flush(); err != nil {
		return answer(stream, err)
	}
	if err := stream.Send(&pb.ShardChunk{End: true, Crc32C: w.crc}); err != nil {
		return answer(stream, err)
	}
	_, err = stream.CloseAndRecv()
	return err
}

// answer returns the coordinator's status when a Send failed because the
// coordinator ended the stream (gRPC's Send then says only io.EOF; the
// status comes from CloseAndRecv), else err.
func answer(stream pb.Coordinator_UploadShardClient, err error) error {
	if !errors.Is(err, io.EOF) {
		return err
	}
	if _, serr := stream.CloseAndRecv(); serr != nil {
		return serr
	}
	return fmt.Errorf("the coordinator ended the upload early without saying why: %w", err)
}

// chunkWriter sends what is written as ShardChunk messages of uploadChunk
// bytes, keeping the running CRC32C.
type chunkWriter struct {
	stream pb.Coordinator_UploadShardClient
	buf    []byte
	crc    uint32
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	c.crc = crc32.Update(c.crc, castagnoli, p)
	for len(p) > 0 {
		k := min(len(p), cap(c.buf)-len(c.buf))
		c.buf = append(c.buf, p[:k]...)
		p = p[k:]
		if len(c.buf) == cap(c.buf) {
			if err := c.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (c *chunkWriter) flush() error {
	if len(c.buf) == 0 {
		return nil
	}
	err := c.stream.Send(&pb.ShardChunk{Data: c.buf})
	c.buf = c.buf[:0] // Send has marshalled the message
	return err
}
