package control

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ringtrain/ringtrain/checkpoint"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// ShardUpload is the coordinator's half of an UploadShard stream: the
// header, then the shard's bytes through Read up to the sender's end
// marker, which carries the sender's CRC32C.
type ShardUpload struct {
	// Header is the upload's first message, checked by ReceiveShard.
	Header *pb.ShardHeader
	stream pb.Coordinator_UploadShardServer
	buf    []byte
	ended  bool
	crc    uint32
	err    error // the upload broke: the sender's side, not the disk
}

// ReceiveShard reads the header of an UploadShard stream. A first message
// without a header naming a worker, a step (>= 1) and a rank of a world
// size is codes.InvalidArgument naming what is wrong; an error of the
// stream is returned as it is. Whether that worker may upload that shard
// is the coordinator's decision.
func ReceiveShard(stream pb.Coordinator_UploadShardServer) (*ShardUpload, error) {
	first, err := stream.Recv()
	if err != nil {
		return nil, err
	}
	if err := checkHeader(first.GetHeader()); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "upload must start with a valid shard header: %v", err)
	}
	h := first.GetHeader()
	u := &ShardUpload{Header: h, stream: stream, buf: first.Data}
	if first.End {
		u.ended, u.crc = true, first.Crc32C
	}
	return u, nil
}

// checkHeader names what is wrong with an upload's header (nil: nothing).
func checkHeader(h *pb.ShardHeader) error {
	switch {
	case h == nil:
		return errors.New("the first message has no header")
	case h.WorkerId == "":
		return errors.New("no worker id")
	case h.Step < 1:
		return fmt.Errorf("step %d, want >= 1", h.Step)
	case h.WorldSize < 1:
		return fmt.Errorf("world size %d, want >= 1", h.WorldSize)
	case h.Rank < 0 || h.Rank >= h.WorldSize:
		return fmt.Errorf("rank %d outside world size %d", h.Rank, h.WorldSize)
	}
	return nil
}

// Draft is the header's manifest draft (rank 0's; nil when the header has
// none). A draft that does not parse is codes.InvalidArgument.
func (u *ShardUpload) Draft() (*checkpoint.Manifest, error) {
	if len(u.Header.Manifest) == 0 {
		return nil, nil
	}
	m := new(checkpoint.Manifest)
	if err := json.Unmarshal(u.Header.Manifest, m); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "manifest draft: %v", err)
	}
	return m, nil
}

// Read reads the shard's bytes; io.EOF after the end marker. A stream that
// ends without it is io.ErrUnexpectedEOF.
func (u *ShardUpload) Read(p []byte) (int, error) {
	for len(u.buf) == 0 {
		if u.ended {
			return 0, io.EOF
		}
		msg, err := u.stream.Recv()
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // the sender stopped without its end marker
		}
		if err != nil {
			u.err = err
			return 0, err
		}
		u.buf = msg.Data
		if msg.End {
			u.ended, u.crc = true, msg.Crc32C
		}
	}
	n := copy(p, u.buf)
	u.buf = u.buf[n:]
	return n, nil
}

// Broken is why reading the stream failed (nil if it did not): the
// sender's side broke the upload, not the disk. A gRPC status keeps its
// code; anything else (the sender stopped without the end marker) is the
// caller's to name.
func (u *ShardUpload) Broken() error { return u.err }

// Verify checks that the sender ended the upload and that its CRC32C is
// the crc of the size bytes the store wrote; else codes.DataLoss naming
// both.
func (u *ShardUpload) Verify(size int64, crc uint32) error {
	if !u.ended || crc != u.crc {
		h := u.Header
		return status.Errorf(codes.DataLoss, "shard of rank %d step %d: wrote %d bytes with crc %08x, the sender's crc is %08x",
			h.Rank, h.Step, size, crc, u.crc)
	}
	return nil
}

// Close answers the upload: the shard is stored (and committed says
// whether that completed the checkpoint).
func (u *ShardUpload) Close(committed bool) error {
	return u.stream.SendAndClose(&pb.UploadShardResponse{Committed: committed})
}
