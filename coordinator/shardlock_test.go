package coordinator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/internal/fence"
	"github.com/ringtrain/ringtrain/internal/testutil"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// shardUpload is one UploadShard stream sent in two parts, so a test can
// hold it half-way.
type shardUpload struct {
	up       pb.Coordinator_UploadShardClient
	data     []byte
	params   []float32
	answered bool // the server ended the stream before all was sent
}

// startUpload opens rank's upload of step and sends its header (rank 0's
// with the manifest draft) and the first half of its bytes; parameter i of
// the shard is value(i).
func startUpload(t *testing.T, c pb.CoordinatorClient, id string, gen uint64, step int64, rank, world, numParams int, value func(i int) float32) *shardUpload {
	t.Helper()
	lo, hi := rank*numParams/world, (rank+1)*numParams/world
	u := &shardUpload{params: make([]float32, hi-lo)}
	for i := range u.params {
		u.params[i] = value(i)
	}
	var shard bytes.Buffer
	if err := checkpoint.EncodeShard(&shard, &checkpoint.Shard{Step: step, Lo: lo, Hi: hi, Params: u.params}); err != nil {
		t.Fatal(err)
	}
	u.data = shard.Bytes()
	h := &pb.ShardHeader{WorkerId: id, Generation: gen, Step: step, Rank: int32(rank), WorldSize: int32(world)}
	if rank == 0 {
		m := checkpoint.Manifest{Step: step, WorldSize: world, ModelSpec: testModelSpec, NumParams: numParams,
			Layout: []checkpoint.Tensor{{Name: "w", Shape: []int{numParams}}}}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		h.Manifest = b
	}
	var err error
	if u.up, err = c.UploadShard(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, chunk := range []*pb.ShardChunk{{Header: h}, {Data: u.data[:len(u.data)/2]}} {
		if err := u.up.Send(chunk); err != nil {
			if errors.Is(err, io.EOF) { // the server answered already (a refusal): finish reads it
				u.answered = true
				break
			}
			t.Fatal(err)
		}
	}
	return u
}

// testModelSpec is a model spec of job.Default()'s model (what a worker
// of that job sends, for data of 4 features and 2 classes).
var testModelSpec = json.RawMessage(`{"kind":"mlp","hidden":[256],"input":[4],"classes":2,"loss":"xent"}`)

// finish sends the rest with the end marker and returns the answer.
func (u *shardUpload) finish() error {
	if u.answered {
		_, err := u.up.CloseAndRecv()
		return err
	}
	if err := u.up.Send(&pb.ShardChunk{Data: u.data[len(u.data)/2:], End: true, Crc32C: crc32c(u.data)}); err != nil {
		_, err = u.up.CloseAndRecv()
		return err
	}
	_, err := u.up.CloseAndRecv()
	return err
}

// An upload of a generation the run has left, still streaming when the new
// generation uploads the same step, must neither rename its file over the
// new generation's shard nor replace the new generation's pending shards:
// it is refused as stale, and the new generation's checkpoint commits with
// its own bytes.
func TestStaleUploadStillStreamingDoesNotOverwrite(t *testing.T) {
	const world, numParams, step = 2, 1000, 10
	d := startDiskServer(t, &diskFS{}, world, checkpoint.DefaultOptions())
	old := startUpload(t, d.c, d.ids[1], d.gen, step, 1, world, numParams, func(int) float32 { return 1 })
	testutil.Eventually(t, 10*time.Second, "the old generation's upload is writing", func() bool {
		_, err := os.Stat(d.store.StepDir(step)) // WriteShard made it
		return err == nil
	})

	// A stall re-forms the generation with the same two workers.
	if _, err := d.c.Report(context.Background(), &pb.ReportRequest{WorkerId: d.ids[0], Generation: d.gen,
		Body: &pb.ReportRequest_Stalled{Stalled: "test: no progress"}}); err != nil {
		t.Fatal(err)
	}
	var gen uint64
	testutil.Eventually(t, 10*time.Second, "a new generation", func() bool {
		st, err := d.c.Status(context.Background(), &pb.StatusRequest{})
		gen = st.GetGeneration()
		return err == nil && gen != d.gen && st.GetPhase() == "running"
	})

	// The new generation uploads the same step: rank 1 waits for the old
	// upload's lock; rank 0 (with the manifest) completes.
	newer := make(chan error, 1)
	second := startUpload(t, d.c, d.ids[1], gen, step, 1, world, numParams, func(int) float32 { return 2 })
	go func() { newer <- second.finish() }()
	if err := startUpload(t, d.c, d.ids[0], gen, step, 0, world, numParams, func(int) float32 { return 2 }).finish(); err != nil {
		t.Fatalf("rank 0 of the new generation: %v", err)
	}
	select {
	case err := <-newer:
		t.Fatalf("rank 1 of the new generation finished while the old upload of its step was still writing: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	if err := old.finish(); !fence.IsStale(err) {
		t.Fatalf("the old generation's upload: %v, want refused as stale", err)
	}
	if err := <-newer; err != nil {
		t.Fatalf("rank 1 of the new generation: %v", err)
	}
	m, err := d.store.Load(step)
	if err != nil {
		t.Fatalf("step %d not committed: %v", step, err)
	}
	params, _, err := d.store.ReadRange(m, 0, numParams)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range params {
		if v != 2 {
			t.Fatalf("committed parameter %d = %v, want the new generation's 2 (an old shard was renamed over it)", i, v)
		}
	}
}
