package coordinator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/job"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// diskFS is the real file system with a switch that makes it behave like a
// full disk (writing file data fails with ENOSPC; creating and removing
// still work, so partial files appear) or a read-only one (every mutation
// fails with EROFS): the failures a root-run test cannot get from chmod.
type diskFS struct {
	checkpoint.OSFS
	fault atomic.Value // syscall.Errno: 0, ENOSPC or EROFS
}

func (d *diskFS) errno() syscall.Errno {
	e, _ := d.fault.Load().(syscall.Errno)
	return e
}

func (d *diskFS) mutate(op, name string) error {
	if d.errno() == syscall.EROFS {
		return &fs.PathError{Op: op, Path: name, Err: syscall.EROFS}
	}
	return nil
}

func (d *diskFS) Create(name string) (checkpoint.File, error) {
	if err := d.mutate("open", name); err != nil {
		return nil, err
	}
	f, err := d.OSFS.Create(name)
	if err != nil {
		return nil, err
	}
	return &diskFile{File: f, d: d, name: name}, nil
}

func (d *diskFS) Rename(o, n string) error {
	if err := d.mutate("rename", o); err != nil {
		return err
	}
	return d.OSFS.Rename(o, n)
}

func (d *diskFS) Remove(name string) error {
	if err := d.mutate("remove", name); err != nil {
		return err
	}
	return d.OSFS.Remove(name)
}

func (d *diskFS) RemoveAll(name string) error {
	if err := d.mutate("unlinkat", name); err != nil {
		return err
	}
	return d.OSFS.RemoveAll(name)
}

func (d *diskFS) MkdirAll(dir string) error {
	if err := d.mutate("mkdir", dir); err != nil {
		return err
	}
	return d.OSFS.MkdirAll(dir)
}

type diskFile struct {
	checkpoint.File
	d    *diskFS
	name string
}

func (f *diskFile) Write(p []byte) (int, error) {
	if e := f.d.errno(); e != 0 {
		return 0, &fs.PathError{Op: "write", Path: f.name, Err: e}
	}
	return f.File.Write(p)
}

// lockedBuffer collects log output from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// uploadShard sends rank's shard of a numParams-long model at step, rank 0
// with the manifest draft, the way a worker does, and returns the answer.
func uploadShard(t *testing.T, c pb.CoordinatorClient, id string, gen uint64, step int64, rank, world, numParams int) error {
	t.Helper()
	lo := rank * numParams / world
	return startUpload(t, c, id, gen, step, rank, world, numParams, func(i int) float32 {
		return float32(step) + float32(lo+i)/1000
	}).finish()
}

// checkpointFailures reads ringtrain_checkpoint_failures_total.
func checkpointFailures(t *testing.T, s *Server) float64 {
	t.Helper()
	mfs, err := s.metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "ringtrain_checkpoint_failures_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("no ringtrain_checkpoint_failures_total")
	return 0
}

// The failed-checkpoint policy end to end over gRPC: a full disk fails one
// checkpoint (Aborted naming the disk's error, an event logged at ERROR, a
// metric, the partial step directory removed, training goes on, LATEST
// unchanged); a commit resets the count; checkpoint.max_failures failures in
// a row of a read-only disk fail the run with the disk's error.
func TestFailedCheckpointPolicy(t *testing.T) {
	const world, numParams = 2, 1000
	disk := &diskFS{}
	d := startDiskServer(t, disk, world, checkpoint.DefaultOptions())
	s, c, store, logs := d.s, d.c, d.store, d.logs
	upload := func(step int64, rank int) error {
		return uploadShard(t, c, d.ids[rank], d.gen, step, rank, world, numParams)
	}
	mustCommit := func(step int64) {
		t.Helper()
		for rank := range world {
			if err := upload(step, rank); err != nil {
				t.Fatalf("step %d rank %d: %v", step, rank, err)
			}
		}
		if m, _, err := store.Latest(); err != nil || m.Step != step {
			t.Fatalf("LATEST: step %d, %v; want %d", m.Step, err, step)
		}
	}
	mustCommit(10)

	// A full disk: rank 1's shard of step 20 is in, rank 0's fails.
	if err := upload(20, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(store.ShardPath(20, 1)); err != nil {
		t.Fatal(err)
	}
	disk.fault.Store(syscall.ENOSPC)
	err := upload(20, 0)
	wantCode(t, err, codes.Aborted, "no space left on device")
	wantCode(t, err, codes.Aborted, "the coordinator's disk ("+store.Dir()+")")
	wantCode(t, upload(20, 1), codes.Aborted, "checkpoint step 20 failed") // a retry of the failed step
	disk.fault.Store(syscall.Errno(0))
	if _, err := os.Stat(store.StepDir(20)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the failed step's directory is still there: %v", err)
	}
	if n := checkpointFailures(t, s); n != 1 {
		t.Fatalf("ringtrain_checkpoint_failures_total %v, want 1 (one step failed)", n)
	}
	st, err := c.Status(context.Background(), &pb.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var event string
	for _, e := range st.Events {
		if e.Kind == "checkpoint-failed" {
			event = e.Message
		}
	}
	if st.Phase != "running" || st.LatestCheckpoint != 10 || !strings.Contains(event, "step 20") || !strings.Contains(event, "no space left on device") || !strings.Contains(event, "training goes on") {
		t.Fatalf("after one failed checkpoint: phase %s, latest %d, event %q", st.Phase, st.LatestCheckpoint, event)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "no space left on device") {
		t.Fatalf("the failure is not logged at ERROR:\n%s", logs)
	}
	if err := store.Verify(10); err != nil {
		t.Fatal(err)
	}

	// The next checkpoint works and resets the count.
	mustCommit(30)
	disk.fault.Store(syscall.EROFS)
	wantCode(t, upload(40, 0), codes.Aborted, "read-only file system")
	s.mu.Lock()
	phase := s.mu.core.Phase()
	s.mu.Unlock()
	if phase != PhaseRunning {
		t.Fatalf("one failure after a commit stopped the run: %s", phase)
	}
	wantCode(t, upload(50, 1), codes.Aborted, "read-only file system")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := s.Wait(ctx)
	if err != nil || res.Phase != PhaseFailed || !strings.Contains(res.Reason, "read-only file system") ||
		!strings.Contains(res.Reason, "2 checkpoints in a row could not be stored (checkpoint.max_failures 2)") {
		t.Fatalf("after max_failures: %+v %v", res, err)
	}
	disk.fault.Store(syscall.Errno(0))
	if m, w, err := store.Latest(); err != nil || m.Step != 30 || len(w) > 0 {
		t.Fatalf("LATEST after the failures: step %d %v %v, want 30", m.Step, w, err)
	}
	if n := checkpointFailures(t, s); n != 3 {
		t.Fatalf("ringtrain_checkpoint_failures_total %v, want 3", n)
	}
}

// diskServer is a coordinator with a checkpoint store on a diskFS, and
// its world of joined workers in a running generation.
type diskServer struct {
	s     *Server
	c     pb.CoordinatorClient
	store *checkpoint.Store
	logs  *lockedBuffer
	ids   []string
	gen   uint64
}

// startDiskServer starts a coordinator whose job checkpoints every 10 steps
// with checkpoint.max_failures 2, joins world workers and waits for their
// generation.
func startDiskServer(t *testing.T, disk *diskFS, world int, opts checkpoint.Options) diskServer {
	t.Helper()
	spec := job.Default()
	spec.Cluster.MinWorkers, spec.Cluster.MaxWorkers = world, world
	spec.Checkpoint = job.Checkpoint{EverySteps: 10, Keep: 10, MaxFailures: 2}
	store, err := checkpoint.Open(disk, t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return startCheckpointing(t, spec, store, 0)
}

// startCheckpointing starts a coordinator of spec with store, resuming from
// step restore (0: none), joins spec.Cluster.MaxWorkers workers and waits
// for their generation.
func startCheckpointing(t *testing.T, spec job.Spec, store *checkpoint.Store, restore int64) diskServer {
	t.Helper()
	world := spec.Cluster.MaxWorkers
	b, _ := spec.Marshal()
	d := diskServer{store: store, logs: &lockedBuffer{}}
	var err error
	d.s, err = Start(Config{Job: spec, JobBytes: b, GRPCAddr: "127.0.0.1:0", GossipAddr: "127.0.0.1", Secret: testSecret,
		RunID: "disk", Version: "v1", Tick: 10 * time.Millisecond, Checkpoints: store, RestoreStep: restore, TLS: clusterTLS.ServerConfig(),
		Logger: slog.New(slog.NewTextHandler(d.logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.s.Close(time.Second) })
	d.c = client(t, d.s.Addr(), testSecret)
	for i := range world {
		r, err := d.c.Join(context.Background(), &pb.JoinRequest{Version: "v1", DataAddr: fmt.Sprintf("127.0.0.1:%d", 9+i)})
		if err != nil {
			t.Fatal(err)
		}
		d.ids = append(d.ids, r.WorkerId)
		st := mustStream(t, d.c, r.WorkerId)
		for {
			p, err := st.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if p.Action == pb.Plan_ACTION_RUN || i < world-1 {
				d.gen = max(d.gen, p.Generation)
				break
			}
		}
	}
	return d
}

// A commit refused for what the workers sent (a manifest of another model)
// is not the disk: the upload keeps failing the sender, and no checkpoint
// failure is counted.
func TestCommitRefusalIsNotADiskFailure(t *testing.T) {
	opts := checkpoint.DefaultOptions()
	opts.ModelSpec = json.RawMessage(`{"kind":"another"}`)
	d := startDiskServer(t, &diskFS{}, 1, opts)
	err := uploadShard(t, d.c, d.ids[0], d.gen, 10, 0, 1, 100)
	wantCode(t, err, codes.FailedPrecondition, "mismatch")
	if n := checkpointFailures(t, d.s); n != 0 {
		t.Fatalf("ringtrain_checkpoint_failures_total %v, want 0", n)
	}
}

// crc32c is the CRC the end marker carries.
func crc32c(b []byte) uint32 { return crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)) }
