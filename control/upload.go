package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/internal/wire"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// UploadChunkBytes is the payload size of one ShardChunk message.
const UploadChunkBytes = 1 << 20

// UploadShard streams shard to the coordinator: hdr first (with draft,
// rank 0's manifest without shards, which the coordinator completes; nil on
// the other ranks), then the shard encoded as safetensors in chunks, then
// the end marker with the CRC32C of the bytes. It returns once the
// coordinator has stored the shard durably (and committed the checkpoint
// when it was the last one), or with the coordinator's status: when the
// coordinator ends the stream early, that status, not gRPC's bare io.EOF.
func (c *Client) UploadShard(ctx context.Context, hdr *pb.ShardHeader, shard *checkpoint.Shard, draft *checkpoint.Manifest) error {
	if draft != nil {
		b, err := json.Marshal(draft)
		if err != nil {
			return fmt.Errorf("manifest draft of step %d: %w", hdr.Step, err)
		}
		hdr = proto.CloneOf(hdr) // the caller's header stays as it was
		hdr.Manifest = b
	}
	stream, err := c.rpc.UploadShard(ctx)
	if err != nil {
		return err
	}
	if err := stream.Send(&pb.ShardChunk{Header: hdr}); err != nil {
		return answer(stream, err)
	}
	w := &chunkWriter{stream: stream, buf: make([]byte, 0, UploadChunkBytes)}
	if err := checkpoint.EncodeShard(w, shard); err != nil {
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

// chunkWriter sends what is written as ShardChunk messages of
// UploadChunkBytes, keeping the running CRC32C.
type chunkWriter struct {
	stream pb.Coordinator_UploadShardClient
	buf    []byte
	crc    uint32
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	c.crc = wire.UpdateCRC32C(c.crc, p)
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
