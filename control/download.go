package control

import (
	"context"
	"fmt"
	"io"

	"github.com/ringtrain/ringtrain/internal/wire"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// RangeChunkFloats is the number of values per RangeChunk (1 MiB).
const RangeChunkFloats = 1 << 18

// SendRange is the coordinator's half of a DownloadRange stream: values,
// named name ("params" or an optimizer state), in chunks of
// RangeChunkFloats with their offsets in the range; an empty range is one
// empty chunk.
func SendRange(stream pb.Coordinator_DownloadRangeServer, name string, values []float32) error {
	for off := 0; ; off += RangeChunkFloats {
		end := min(len(values), off+RangeChunkFloats)
		b := make([]byte, 4*(end-off))
		wire.PutFloat32s(b, values[off:end])
		if err := stream.Send(&pb.RangeChunk{Name: name, Offset: int64(off), Data: b}); err != nil {
			return err
		}
		if end == len(values) {
			return nil
		}
	}
}

// DownloadRange fills dst with the flat range [lo, hi) of the committed
// checkpoint of step: with state false dst has "params" only (the full
// parameters when the range is all of them); with state true, one slice
// per optimizer state name of the manifest. Every slice must have hi-lo
// values. The coordinator reshards from whatever world size wrote the
// checkpoint. A chunk of a name dst lacks, out of order or beyond its
// slice, or a slice left short, is an error naming it.
func (c *Client) DownloadRange(ctx context.Context, step int64, lo, hi int, state bool, dst map[string][]float32) error {
	st, err := c.rpc.DownloadRange(ctx, &pb.DownloadRangeRequest{Step: step, Lo: int64(lo), Hi: int64(hi), State: state})
	if err != nil {
		return err
	}
	got := map[string]int{}
	for {
		ch, err := st.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		v, ok := dst[ch.Name]
		n := len(ch.Data) / 4
		if !ok || len(ch.Data)%4 != 0 || ch.Offset != int64(got[ch.Name]) || got[ch.Name]+n > len(v) {
			return fmt.Errorf("unexpected chunk %q at %d (%d bytes)", ch.Name, ch.Offset, len(ch.Data))
		}
		wire.Float32s(v[ch.Offset:ch.Offset+int64(n)], ch.Data)
		got[ch.Name] += n
	}
	for name, v := range dst {
		if got[name] != len(v) {
			return fmt.Errorf("%s: received %d of %d values", name, got[name], len(v))
		}
	}
	return nil
}
