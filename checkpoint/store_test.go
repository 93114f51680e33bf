package checkpoint_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/ringtrain/ringtrain/checkpoint"
)

func TestCommitThenLoad(t *testing.T) {
	for _, fsys := range []struct {
		name string
		fs   func(t *testing.T) (checkpoint.FS, string)
	}{
		{"MemFS", func(t *testing.T) (checkpoint.FS, string) { return checkpoint.NewMemFS(), "/ckpt" }},
		{"OSFS", func(t *testing.T) (checkpoint.FS, string) {
			return checkpoint.OSFS{}, filepath.Join(t.TempDir(), "ckpt")
		}},
	} {
		t.Run(fsys.name, func(t *testing.T) {
			f, dir := fsys.fs(t)
			st, err := checkpoint.Open(f, dir, checkpoint.DefaultOptions())
			must(t, err)
			s := newState(3, 1000, "m", "v")
			want := mustSave(t, st, 10, 4, s)
			want.FormatVersion = checkpoint.FormatVersion

			// A fresh Store over the same directory sees it.
			st2, err := checkpoint.Open(f, dir, checkpoint.Options{ModelSpec: testModel})
			must(t, err)
			m, warnings, err := st2.Latest()
			if err != nil || len(warnings) > 0 {
				t.Fatalf("Latest: %v %v", err, warnings)
			}
			m.ModelSpec, m.OptimizerSpec = want.ModelSpec, want.OptimizerSpec
			if !reflect.DeepEqual(m, want) {
				t.Fatalf("manifest:\n got %+v\nwant %+v", m, want)
			}
			if _, err := st2.Load(10); err != nil {
				t.Fatal(err)
			}
			must(t, st2.Verify(10))
			checkContent(t, st2, m, s)

			got := readFile(t, f, filepath.Join(dir, checkpoint.LatestName))
			if string(got) != "step-000000000010\n" {
				t.Fatalf("LATEST = %q", got)
			}
			ents, err := st2.List()
			must(t, err)
			if len(ents) != 1 || ents[0].Step != 10 || ents[0].State != checkpoint.Committed || !ents[0].Latest || ents[0].Err != nil || ents[0].Manifest == nil {
				t.Fatalf("List: %+v", ents)
			}
		})
	}
}

func TestWriteShardChecksTheStream(t *testing.T) {
	fsys := checkpoint.NewMemFS()
	st := mustOpen(t, fsys, checkpoint.DefaultOptions())
	s := newState(4, 100, "m")
	good := encodeShard(t, 5, 0, 100, s)
	tests := []struct {
		name string
		r    io.Reader
		want error
	}{
		{"wrong step", bytes.NewReader(encodeShard(t, 6, 0, 100, s)), checkpoint.ErrInvalid},
		{"truncated", bytes.NewReader(good[:len(good)-1]), checkpoint.ErrCorrupt},
		{"trailing bytes", io.MultiReader(bytes.NewReader(good), bytes.NewReader([]byte{0})), checkpoint.ErrCorrupt},
		{"garbage", bytes.NewReader([]byte("hello, world, this is not a shard")), checkpoint.ErrCorrupt},
		{"stream error", io.MultiReader(bytes.NewReader(good[:100]), iotest.ErrReader(io.ErrClosedPipe)), io.ErrClosedPipe},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := st.WriteShard(5, 0, tc.r); !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			// Nothing but the empty step directory is left behind.
			files, err := fsys.ReadDir(st.StepDir(5))
			must(t, err)
			if len(files) != 0 {
				t.Fatalf("left behind: %q", files)
			}
		})
	}
	info, err := st.WriteShard(5, 0, bytes.NewReader(good))
	must(t, err)
	if info.Size != int64(len(good)) || info.Lo != 0 || info.Hi != 100 || info.File != "shard-00000.safetensors" {
		t.Fatalf("info %+v", info)
	}
}

func TestWriteShardConcurrent(t *testing.T) {
	st := mustOpen(t, checkpoint.NewMemFS(), checkpoint.DefaultOptions())
	s := newState(5, 999, "m", "v")
	const world = 8
	infos := make([]checkpoint.ShardInfo, world)
	errs := make([]error, world)
	var wg sync.WaitGroup
	for r := range world {
		wg.Go(func() {
			lo, hi := evenRange(len(s.params), world, r)
			infos[r], errs[r] = st.WriteShard(1, r, bytes.NewReader(encodeShard(t, 1, lo, hi, s)))
		})
	}
	wg.Wait()
	must(t, errors.Join(errs...))
	m := manifestFor(1, world, s, infos)
	must(t, st.Commit(m))
	checkContent(t, st, m, s)
}

func TestCommitRefuses(t *testing.T) {
	s := newState(6, 64, "m", "v")
	tests := []struct {
		name string
		edit func(m *checkpoint.Manifest)
		want error
	}{
		{"invalid manifest", func(m *checkpoint.Manifest) { m.NumParams++ }, checkpoint.ErrInvalid},
		{"wrong crc", func(m *checkpoint.Manifest) { m.Shards[1].CRC32C++ }, checkpoint.ErrCorrupt},
		{"wrong size", func(m *checkpoint.Manifest) { m.Shards[1].Size += 4 }, checkpoint.ErrCorrupt},
		{"ranges differ from the files", func(m *checkpoint.Manifest) { m.Shards[0].Hi--; m.Shards[1].Lo-- }, checkpoint.ErrCorrupt},
		{"states differ from the files", func(m *checkpoint.Manifest) { m.StateNames = []string{"m"} }, checkpoint.ErrCorrupt},
		{"other model", func(m *checkpoint.Manifest) { m.ModelSpec = json.RawMessage(`{"kind":"cnn"}`) }, checkpoint.ErrMismatch},
		{"same step again", func(m *checkpoint.Manifest) { m.Step = 1 }, checkpoint.ErrExists},
		{"older than LATEST", func(m *checkpoint.Manifest) { m.Step = 0 }, checkpoint.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := checkpoint.NewMemFS()
			st := mustOpen(t, fsys, checkpoint.Options{ModelSpec: testModel})
			mustSave(t, st, 1, 2, s)
			infos, err := writeShards(t, st, 2, 2, s)
			must(t, err)
			if tc.name == "same step again" || tc.name == "older than LATEST" {
				// Shards of step 2 stand in for the files; only the step
				// number matters, it is checked first.
				infos, _ = writeShards(t, st, 2, 2, s)
			}
			m := manifestFor(2, 2, s, infos)
			tc.edit(&m)
			if err := st.Commit(m); !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			got, _, err := st.Latest()
			if err != nil || got.Step != 1 {
				t.Fatalf("Latest after refused commit: step %d, %v", got.Step, err)
			}
		})
	}
}

func TestCommitNamesMissingShard(t *testing.T) {
	fsys := checkpoint.NewMemFS()
	st := mustOpen(t, fsys, checkpoint.DefaultOptions())
	s := newState(6, 64)
	infos, err := writeShards(t, st, 2, 2, s)
	must(t, err)
	must(t, fsys.Remove(st.ShardPath(2, 1)))
	err = st.Commit(manifestFor(2, 2, s, infos))
	if !errors.Is(err, checkpoint.ErrNotFound) {
		t.Fatalf("err %v, want ErrNotFound", err)
	}
	if bad := checkpoint.BadFiles(err); !reflect.DeepEqual(bad, []string{st.ShardPath(2, 1)}) {
		t.Fatalf("BadFiles %q", bad)
	}
}

func TestWriteShardRefusesCommittedStep(t *testing.T) {
	st := mustOpen(t, checkpoint.NewMemFS(), checkpoint.DefaultOptions())
	s := newState(8, 40)
	mustSave(t, st, 3, 2, s)
	if _, err := st.WriteShard(3, 0, bytes.NewReader(encodeShard(t, 3, 0, 20, s))); !errors.Is(err, checkpoint.ErrExists) {
		t.Fatalf("err %v, want ErrExists", err)
	}
	if _, err := st.WriteShard(-1, 0, nil); !errors.Is(err, checkpoint.ErrInvalid) {
		t.Fatalf("err %v, want ErrInvalid", err)
	}
}

func TestRewind(t *testing.T) {
	fsys := checkpoint.NewMemFS()
	st := mustOpen(t, fsys, checkpoint.Options{Retention: checkpoint.Retention{Keep: 10}})
	for step := int64(1); step <= 4; step++ {
		mustSave(t, st, step, 2, newState(uint64(step), 50, "m"))
	}
	// Step 5: shards only (an unfinished upload).
	_, err := writeShards(t, st, 5, 2, newState(5, 50, "m"))
	must(t, err)
	// Steps 3 and 4 go bad.
	for _, step := range []int64{3, 4} {
		must(t, fsys.Remove(st.ShardPath(step, 1)))
	}
	m, warnings, err := st.Latest()
	must(t, err)
	if m.Step != 2 || len(warnings) != 2 {
		t.Fatalf("Latest: step %d, warnings %v", m.Step, warnings)
	}
	// Without Rewind, training on from step 2 cannot commit step 3.
	if _, err := save(t, st, 3, 2, newState(33, 50, "m")); !errors.Is(err, checkpoint.ErrExists) {
		t.Fatalf("save over bad step 3 without Rewind: %v, want ErrExists", err)
	}
	must(t, st.Rewind(m.Step))
	ents, err := st.List()
	must(t, err)
	if len(ents) != 2 || ents[1].Step != 2 || !ents[1].Latest {
		t.Fatalf("after Rewind: %+v", ents)
	}
	s3 := newState(33, 50, "m")
	m3 := mustSave(t, st, 3, 2, s3)
	checkContent(t, st, m3, s3)
	// Rewinding to the latest is a no-op that writes nothing.
	before := fsys.Ops()
	must(t, st.Rewind(3))
	if fsys.Ops() != before {
		t.Fatal("no-op Rewind wrote")
	}
	if err := st.Rewind(99); !errors.Is(err, checkpoint.ErrNotFound) {
		t.Fatalf("Rewind to a missing step: %v", err)
	}
}

func TestOpenValidates(t *testing.T) {
	fsys := checkpoint.NewMemFS()
	for _, o := range []checkpoint.Options{
		{Retention: checkpoint.Retention{Keep: -1}},
		{Retention: checkpoint.Retention{KeepEvery: -1}},
		{ModelSpec: json.RawMessage("{")},
	} {
		if _, err := checkpoint.Open(fsys, "/x", o); !errors.Is(err, checkpoint.ErrInvalid) {
			t.Fatalf("Open(%+v): %v", o, err)
		}
	}
	writeFile(t, fsys, "/file", []byte("x"))
	if _, err := checkpoint.Open(fsys, "/file", checkpoint.Options{}); !errors.Is(err, checkpoint.ErrInvalid) {
		t.Fatalf("Open on a file: %v", err)
	}
	st, err := checkpoint.Open(fsys, "/new/dir", checkpoint.Options{})
	must(t, err)
	if _, _, err := st.Latest(); !errors.Is(err, checkpoint.ErrNotFound) {
		t.Fatalf("Latest of an empty store: %v", err)
	}
	if _, err := fsys.CrashClone().Stat("/new/dir"); err != nil {
		t.Fatalf("Open did not create the directory durably: %v", err)
	}
}

// TestCommitRetryAfterLatestFailure: the manifest is written but LATEST is
// not; the step lists as uncommitted, is not restored from, and a retried
// Commit completes it.
func TestCommitRetryAfterLatestFailure(t *testing.T) {
	fsys := checkpoint.NewMemFS()
	st := mustOpen(t, fsys, checkpoint.DefaultOptions())
	mustSave(t, st, 1, 2, newState(1, 30))
	s2 := newState(2, 30)
	infos, err := writeShards(t, st, 2, 2, s2)
	must(t, err)
	m := manifestFor(2, 2, s2, infos)
	fsys.FailAfter(5) // MANIFEST: create, write, sync, rename, syncdir; then LATEST's create fails
	if err := st.Commit(m); !errors.Is(err, checkpoint.ErrInjected) || !strings.Contains(err.Error(), "LATEST") {
		t.Fatalf("Commit: %v", err)
	}
	ents, err := st.List()
	must(t, err)
	if len(ents) != 2 || ents[0].State != checkpoint.Committed || ents[1].State != checkpoint.Uncommitted ||
		ents[1].Err != nil || ents[1].State.String() != "uncommitted" {
		t.Fatalf("List: %+v", ents)
	}
	if got, w, err := st.Latest(); err != nil || got.Step != 1 || len(w) != 0 {
		t.Fatalf("Latest: step %d %v %v", got.Step, w, err)
	}
	must(t, st.Commit(m))
	got, _, err := st.Latest()
	if err != nil || got.Step != 2 {
		t.Fatalf("Latest after retry: step %d %v", got.Step, err)
	}
	checkContent(t, st, got, s2)
}
