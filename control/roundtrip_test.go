package control_test

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/control"
	"github.com/ringtrain/ringtrain/internal/testutil"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// values returns n pseudo-random floats, with special values among them
// (a NaN with a payload, -0, infinities, a subnormal) that must survive bit
// for bit.
func values(seed uint64, n int) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	special := []float32{math.Float32frombits(0x7fc01234), float32(math.Copysign(0, -1)),
		float32(math.Inf(1)), float32(math.Inf(-1)), math.Float32frombits(1)}
	for i, x := range special {
		v[(i*7919)%n] = x
	}
	return v
}

// A shard uploaded by the client is what the coordinator stores and
// commits, and the ranges the client downloads are the uploaded values, bit
// for bit: both halves of both streams, over real gRPC, with a real
// coordinator and store. The sizes span several chunks of each stream and
// ranges cross chunk boundaries.
func TestShardRoundTrip(t *testing.T) {
	c, w := joinRun(t)
	ctx := context.Background()
	n := 2*control.RangeChunkFloats + 5 // 3 range chunks; 12 bytes per value: 3 upload chunks and more
	params, m, v := values(1, n), values(2, n), values(3, n)
	const step = 10
	shard := &checkpoint.Shard{Step: step, Lo: 0, Hi: n, Params: params, States: map[string][]float32{"m": m, "v": v}}
	// The job's model (testcluster.OneWorkerJob: the default MLP), as a
	// worker with data of 4 features and 2 classes describes it.
	model := json.RawMessage(`{"kind":"mlp","hidden":[256],"input":[4],"classes":2,"loss":"xent"}`)
	draft := &checkpoint.Manifest{FormatVersion: checkpoint.FormatVersion, Step: step, WorldSize: 1, NumParams: n, ModelSpec: model,
		Layout: []checkpoint.Tensor{{Name: "w", Shape: []int{n}, Offset: 0}}, StateNames: []string{"m", "v"}, OptimizerSteps: 7,
		Cursor: checkpoint.Cursor{Epoch: 1, Step: 3}}
	hdr := &pb.ShardHeader{WorkerId: w.ID, Generation: w.Plan.Generation, Step: step, Rank: 0, WorldSize: 1}
	if err := c.Client.UploadShard(ctx, hdr, shard, draft); err != nil {
		t.Fatalf("UploadShard: %v", err)
	}
	if err := c.Store.Verify(step); err != nil {
		t.Fatalf("the stored checkpoint does not verify: %v", err)
	}
	got, err := c.Client.GetCheckpoint(ctx, step)
	if err != nil {
		t.Fatalf("GetCheckpoint: %v", err)
	}
	if got.Step != step || got.NumParams != n || got.OptimizerSteps != 7 || got.Cursor != draft.Cursor || len(got.Shards) != 1 {
		t.Fatalf("manifest %+v, want the draft's step, size, optimizer steps and cursor, one shard", got)
	}
	for _, tc := range []struct {
		name   string
		lo, hi int
	}{
		{"everything", 0, n},
		{"across a chunk boundary", control.RangeChunkFloats - 3, control.RangeChunkFloats + 4},
		{"exactly one chunk", control.RangeChunkFloats, 2 * control.RangeChunkFloats},
		{"the tail", n - 1, n},
		{"empty", 17, 17},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := map[string][]float32{"params": make([]float32, tc.hi-tc.lo)}
			if err := c.Client.DownloadRange(ctx, step, tc.lo, tc.hi, false, p); err != nil {
				t.Fatalf("params: %v", err)
			}
			st := map[string][]float32{"m": make([]float32, tc.hi-tc.lo), "v": make([]float32, tc.hi-tc.lo)}
			if err := c.Client.DownloadRange(ctx, step, tc.lo, tc.hi, true, st); err != nil {
				t.Fatalf("states: %v", err)
			}
			for name, want := range map[string][]float32{"params": params, "m": m, "v": v} {
				dst := p[name]
				if name != "params" {
					dst = st[name]
				}
				if i := testutil.FirstBitDiff(dst, want[tc.lo:tc.hi]); i != -1 {
					t.Fatalf("%s[%d:%d] differs at %d", name, tc.lo, tc.hi, i)
				}
			}
		})
	}
}
