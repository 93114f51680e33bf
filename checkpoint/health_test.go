package checkpoint_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/checkpoint"
)

// storeOn opens a store on the in-memory FS or in a temporary directory of
// the real one (which reports a path through a file as ENOTDIR, not as
// missing).
func storeOn(t *testing.T, onDisk bool) (checkpoint.FS, *checkpoint.Store) {
	t.Helper()
	if !onDisk {
		fsys := checkpoint.NewMemFS()
		return fsys, mustOpen(t, fsys, checkpoint.DefaultOptions())
	}
	st, err := checkpoint.Open(checkpoint.OSFS{}, filepath.Join(t.TempDir(), "ckpt"), checkpoint.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return checkpoint.OSFS{}, st
}

// A regular file named like a step directory is ignored by List, Latest,
// Prune and Rewind, reported by Strays, refused by WriteShard with a clear
// error, and never removed.
func TestStrayFileNamedLikeAStep(t *testing.T) {
	for _, onDisk := range []bool{false, true} {
		t.Run(map[bool]string{false: "memfs", true: "disk"}[onDisk], func(t *testing.T) {
			fsys, st := storeOn(t, onDisk)
			mustSave(t, st, 10, 2, newState(1, 50))
			s2 := newState(2, 50)
			mustSave(t, st, 20, 2, s2)
			for _, step := range []int64{5, 700} { // before and after LATEST
				writeFile(t, fsys, st.StepDir(step), []byte("not a checkpoint"))
			}
			strays, err := st.Strays()
			if err != nil || !slices.Equal(strays, []string{st.StepDir(5), st.StepDir(700)}) {
				t.Fatalf("Strays: %v %v", strays, err)
			}
			entries, err := st.List()
			if err != nil || len(entries) != 2 || entries[0].Step != 10 || entries[1].Step != 20 || !entries[1].Latest {
				t.Fatalf("List: %+v %v", entries, err)
			}
			m, warnings, err := st.Latest()
			if err != nil || m.Step != 20 || len(warnings) > 0 {
				t.Fatalf("Latest: step %d, %v, %v", m.Step, warnings, err)
			}
			checkContent(t, st, m, s2)
			if err := st.CheckLatest(); err != nil {
				t.Fatalf("CheckLatest: %v", err)
			}
			if _, err := st.Prune(); err != nil {
				t.Fatalf("Prune: %v", err)
			}
			must(t, st.Rewind(20))
			_, err = st.WriteShard(700, 0, bytes.NewReader(encodeShard(t, 700, 0, 25, newState(3, 50))))
			if err == nil || !strings.Contains(err.Error(), "is not a directory") || !strings.Contains(err.Error(), st.StepDir(700)) {
				t.Fatalf("WriteShard over a stray file: %v", err)
			}
			if err := st.Discard(700); !errors.Is(err, checkpoint.ErrInvalid) {
				t.Fatalf("Discard of a stray file: %v, want ErrInvalid", err)
			}
			for _, step := range []int64{5, 700} {
				if got := readFile(t, fsys, st.StepDir(step)); string(got) != "not a checkpoint" {
					t.Fatalf("the stray file of step %d changed: %q", step, got)
				}
			}
		})
	}
}

// CheckLatest insists on what a strict resume insists on: LATEST names a
// checkpoint that loads.
func TestCheckLatest(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, fsys checkpoint.FS, st *checkpoint.Store)
		want  error // nil: healthy
	}{
		{"empty store", func(*testing.T, checkpoint.FS, *checkpoint.Store) {}, nil},
		{"healthy", func(t *testing.T, _ checkpoint.FS, st *checkpoint.Store) { mustSave(t, st, 10, 2, newState(1, 40)) }, nil},
		{"names a deleted step", func(t *testing.T, fsys checkpoint.FS, st *checkpoint.Store) {
			mustSave(t, st, 10, 2, newState(1, 40))
			writeFile(t, fsys, filepath.Join(st.Dir(), checkpoint.LatestName), []byte("step-000000000700\n"))
		}, checkpoint.ErrNotFound},
		{"garbage", func(t *testing.T, fsys checkpoint.FS, st *checkpoint.Store) {
			mustSave(t, st, 10, 2, newState(1, 40))
			writeFile(t, fsys, filepath.Join(st.Dir(), checkpoint.LatestName), []byte("\x00\x01 garbage"))
		}, checkpoint.ErrCorrupt},
		{"missing while checkpoints exist", func(t *testing.T, fsys checkpoint.FS, st *checkpoint.Store) {
			mustSave(t, st, 10, 2, newState(1, 40))
			must(t, fsys.Remove(filepath.Join(st.Dir(), checkpoint.LatestName)))
		}, checkpoint.ErrNotFound},
		{"its shard is missing", func(t *testing.T, fsys checkpoint.FS, st *checkpoint.Store) {
			mustSave(t, st, 10, 2, newState(1, 40))
			must(t, fsys.Remove(st.ShardPath(10, 1)))
		}, checkpoint.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys, st := storeOn(t, true)
			tc.setup(t, fsys, st)
			err := st.CheckLatest()
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("CheckLatest: %v", err)
			case tc.want != nil && (!errors.Is(err, tc.want) || !strings.Contains(err.Error(), "LATEST")):
				t.Fatalf("CheckLatest: %v, want %v naming LATEST", err, tc.want)
			}
		})
	}
}

// Discard removes what a failed checkpoint left and never a checkpoint
// LATEST may rely on.
func TestDiscard(t *testing.T) {
	tests := []struct {
		name    string
		step    int64
		latest  string // rewrite LATEST ("" keeps it)
		want    error  // nil: removed
		removed bool
	}{
		{"partial shards after LATEST", 30, "", nil, true},
		{"unfinished commit after LATEST", 40, "", nil, true},
		{"partial shards before LATEST", 15, "", nil, true},
		{"the step LATEST names", 20, "", checkpoint.ErrExists, false},
		{"an older committed step", 10, "", checkpoint.ErrExists, false},
		{"a manifest while LATEST is garbage", 40, "garbage", checkpoint.ErrExists, false},
		{"partial shards while LATEST is garbage", 30, "garbage", nil, true},
		{"a step that does not exist", 99, "", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys, st := storeOn(t, true)
			s := newState(1, 40)
			mustSave(t, st, 10, 2, s)
			mustSave(t, st, 20, 2, s)
			if _, err := writeShards(t, st, 15, 1, s); err != nil {
				t.Fatal(err)
			}
			if _, err := writeShards(t, st, 30, 1, s); err != nil {
				t.Fatal(err)
			}
			// Step 40: shards and a manifest, but LATEST never moved.
			infos, err := writeShards(t, st, 40, 2, s)
			if err != nil {
				t.Fatal(err)
			}
			m40 := manifestFor(40, 2, s, infos)
			m40.FormatVersion = checkpoint.FormatVersion
			b, err := checkpoint.EncodeManifest(m40)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, fsys, st.ManifestPath(40), b)
			if tc.latest != "" {
				writeFile(t, fsys, filepath.Join(st.Dir(), checkpoint.LatestName), []byte(tc.latest))
			}
			err = st.Discard(tc.step)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Discard(%d): %v, want %v", tc.step, err, tc.want)
			}
			_, statErr := os.Stat(st.StepDir(tc.step))
			if gone := errors.Is(statErr, os.ErrNotExist); gone != tc.removed {
				t.Fatalf("step %d removed %v, want %v", tc.step, gone, tc.removed)
			}
			if tc.latest == "" {
				if m, w, err := st.Latest(); err != nil || m.Step != 20 || len(w) > 0 {
					t.Fatalf("after Discard, Latest: step %d %v %v", m.Step, w, err)
				}
			}
		})
	}
}
