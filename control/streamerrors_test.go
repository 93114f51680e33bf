package control_test

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/control"
	"github.com/ringtrain/ringtrain/internal/testcluster"
	"github.com/ringtrain/ringtrain/internal/testutil"
	"github.com/ringtrain/ringtrain/internal/wire"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// The coordinator's half of the upload refuses a stream that is not what
// the client's half sends, with a code and a message naming what is wrong,
// and stores nothing: raw streams against a real coordinator.
func TestUploadStreamRefusals(t *testing.T) {
	c, w := joinRun(t)
	good := func(step int64) []byte {
		var b bytes.Buffer
		if err := checkpoint.EncodeShard(&b, &checkpoint.Shard{Step: step, Lo: 0, Hi: 3, Params: []float32{1, 2, 3}}); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	hdr := func(step int64) *pb.ShardChunk {
		return &pb.ShardChunk{Header: &pb.ShardHeader{WorkerId: w.ID, Generation: w.Plan.Generation, Step: step, Rank: 0, WorldSize: 1}}
	}
	for _, tc := range []struct {
		name string
		step int64
		msgs []*pb.ShardChunk
		code codes.Code
		want string
	}{
		{"no header", 10, []*pb.ShardChunk{{Data: good(10)}}, codes.InvalidArgument, "valid shard header: the first message has no header"},
		{"a rank outside the world", 10, []*pb.ShardChunk{{Header: &pb.ShardHeader{WorkerId: w.ID, Generation: w.Plan.Generation, Step: 10, Rank: 1, WorldSize: 1}}},
			codes.InvalidArgument, "valid shard header: rank 1 outside world size 1"},
		{"no worker id", 10, []*pb.ShardChunk{{Header: &pb.ShardHeader{Generation: w.Plan.Generation, Step: 10, WorldSize: 1}}},
			codes.InvalidArgument, "valid shard header: no worker id"},
		{"step 0", 10, []*pb.ShardChunk{{Header: &pb.ShardHeader{WorkerId: w.ID, Generation: w.Plan.Generation, WorldSize: 1}}},
			codes.InvalidArgument, "valid shard header: step 0"},
		{"a draft that is not JSON", 10, []*pb.ShardChunk{{Header: &pb.ShardHeader{WorkerId: w.ID, Generation: w.Plan.Generation, Step: 10, WorldSize: 1, Manifest: []byte("{")}}},
			codes.InvalidArgument, "manifest draft"},
		{"a trailer with another CRC", 10, []*pb.ShardChunk{hdr(10), {Data: good(10)}, {End: true, Crc32C: wire.CRC32C(good(10)) ^ 1}},
			codes.DataLoss, "the sender's crc"},
		{"no end marker", 20, []*pb.ShardChunk{hdr(20), {Data: good(20)}}, codes.DataLoss, "the upload broke"},
		{"a shard of another step", 30, []*pb.ShardChunk{hdr(30), {Data: good(40)}, {End: true, Crc32C: wire.CRC32C(good(40))}},
			codes.DataLoss, "malformed"},
		{"bytes that are not a shard", 50, []*pb.ShardChunk{hdr(50), {Data: []byte("garbage!")}, {End: true, Crc32C: wire.CRC32C([]byte("garbage!"))}},
			codes.DataLoss, "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := grpc.NewClient(c.Addr, control.DialOptions(nil, c.Token)...)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			st, err := pb.NewCoordinatorClient(conn).UploadShard(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range tc.msgs {
				if err := st.Send(m); err != nil {
					break // the coordinator ended the stream: its status follows
				}
			}
			_, err = st.CloseAndRecv()
			if status.Code(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %v naming %q", err, tc.code, tc.want)
			}
			if _, err := c.Store.Load(tc.step); err == nil {
				t.Fatalf("a refused upload committed step %d", tc.step)
			}
		})
	}
}

// rangeServer is a control-plane peer whose DownloadRange answers with
// chunks, whatever was asked: the misbehaving coordinator the client must
// refuse.
type rangeServer struct {
	pb.UnimplementedCoordinatorServer
	chunks []*pb.RangeChunk
}

func (s *rangeServer) DownloadRange(_ *pb.DownloadRangeRequest, st pb.Coordinator_DownloadRangeServer) error {
	for _, c := range s.chunks {
		if err := st.Send(c); err != nil {
			return err
		}
	}
	return nil
}

// The client's half of the download refuses a stream that does not fill
// the caller's slices exactly, in order, naming the chunk or the value
// count; a well-formed stream fills them (real gRPC over TCP).
func TestDownloadRefusesBadChunks(t *testing.T) {
	two := make([]byte, 8)
	wire.PutFloat32s(two, []float32{1.5, -2})
	for _, tc := range []struct {
		name   string
		chunks []*pb.RangeChunk
		want   string // "" : accepted
	}{
		{"well formed", []*pb.RangeChunk{{Name: "params", Offset: 0, Data: two}, {Name: "params", Offset: 2, Data: two}}, ""},
		{"a name not asked for", []*pb.RangeChunk{{Name: "m", Offset: 0, Data: two}}, `unexpected chunk "m" at 0 (8 bytes)`},
		{"a partial value", []*pb.RangeChunk{{Name: "params", Offset: 0, Data: two[:6]}}, `unexpected chunk "params" at 0 (6 bytes)`},
		{"beyond the range", []*pb.RangeChunk{{Name: "params", Offset: 0, Data: two}, {Name: "params", Offset: 2, Data: two}, {Name: "params", Offset: 4, Data: two}},
			`unexpected chunk "params" at 4 (8 bytes)`},
		{"out of order", []*pb.RangeChunk{{Name: "params", Offset: 2, Data: two}}, `unexpected chunk "params" at 2 (8 bytes)`},
		{"a negative offset", []*pb.RangeChunk{{Name: "params", Offset: -2, Data: two}}, `unexpected chunk "params" at -2`},
		{"the same chunk twice", []*pb.RangeChunk{{Name: "params", Offset: 0, Data: two}, {Name: "params", Offset: 0, Data: two}}, `unexpected chunk "params" at 0`},
		{"short", []*pb.RangeChunk{{Name: "params", Offset: 0, Data: two}}, "params: received 2 of 4 values"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := grpc.NewServer()
			pb.RegisterCoordinatorServer(srv, &rangeServer{chunks: tc.chunks})
			done := make(chan struct{})
			go func() { defer close(done); srv.Serve(ln) }()
			defer func() { srv.Stop(); <-done }()
			c := testcluster.Dial(t, ln.Addr().String(), []byte(testcluster.DefaultSecret))
			dst := map[string][]float32{"params": make([]float32, 4)}
			err = c.DownloadRange(context.Background(), 10, 0, 4, false, dst)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("DownloadRange: %v", err)
			case tc.want == "" && !testutil.BitsEqual(dst["params"], []float32{1.5, -2, 1.5, -2}):
				t.Fatalf("got %v", dst["params"])
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("DownloadRange: %v, want an error naming %q", err, tc.want)
			}
		})
	}
}
