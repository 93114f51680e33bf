package checkpoint_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/checkpoint"
)

// TestCorruption damages checkpoint 3 of a store holding 1, 2, 3 and checks
// that the damage is detected, the error names the file, Latest falls back
// to 2 with a warning naming it, and Strict refuses.
func TestCorruption(t *testing.T) {
	const world = 3
	tests := []struct {
		name   string
		damage func(t *testing.T, fsys *checkpoint.MemFS, st *checkpoint.Store) string // returns the file to be named
		want   error
	}{
		{"flipped bit in shard data", func(t *testing.T, fsys *checkpoint.MemFS, st *checkpoint.Store) string {
			p := st.ShardPath(3, 1)
			b := readFile(t, fsys, p)
			b[len(b)-7] ^= 0x10
			writeFile(t, fsys, p, b)
			return p
		}, checkpoint.ErrCorrupt},
		{"flipped bit in shard header", func(t *testing.T, fsys *checkpoint.MemFS, st *checkpoint.Store) string {
			p := st.ShardPath(3, 2)
			b := readFile(t, fsys, p)
			b[20] ^= 0x01
			writeFile(t, fsys, p, b)
			return p
		}, checkpoint.ErrCorrupt},
		{"truncated shard", func(t *testing.T, fsys *checkpoint.MemFS, st *checkpoint.Store) string {
			p := st.ShardPath(3, 0)
			b := readFile(t, fsys, p)
			writeFile(t, fsys, p, b[:len(b)-4])
			return p
		}, checkpoint.ErrCorrupt},
		{"missing shard", func(t *testing.T, fsys *checkpoint.MemFS, st *checkpoint.Store) string {
			p := st.ShardPath(3, 2)
			must(t, fsys.Remove(p))
			return p
		}, checkpoint.ErrNotFound},
		{"shard swapped with another step's", func(t *testing.T, fsys *checkpoint.MemFS, st *checkpoint.Store) string {
			p := st.ShardPath(3, 1)
			writeFile(t, fsys, p, readFile(t, fsys, st.ShardPath(2, 1)))
			return p
		}, checkpoint.ErrCorrupt},
		{"missing manifest", func(t *testing.T, fsys *checkpoint.MemFS, st *checkpoint.Store) string {
			p := st.ManifestPath(3)
			must(t, fsys.Remove(p))
			return p
		}, checkpoint.ErrNotFound},
		{"garbage manifest", func(t *testing.T, fsys *checkpoint.MemFS, st *checkpoint.Store) string {
			p := st.ManifestPath(3)
			writeFile(t, fsys, p, []byte("\x00garbage{"))
			return p
		}, checkpoint.ErrCorrupt},
		{"edited manifest", func(t *testing.T, fsys *checkpoint.MemFS, st *checkpoint.Store) string {
			p := st.ManifestPath(3)
			b := strings.Replace(string(readFile(t, fsys, p)), `"epoch": 0,`, `"epoch": 9,`, 1)
			writeFile(t, fsys, p, []byte(b))
			return p
		}, checkpoint.ErrCorrupt},
		{"manifest moved to another step", func(t *testing.T, fsys *checkpoint.MemFS, st *checkpoint.Store) string {
			p := st.ManifestPath(3)
			writeFile(t, fsys, p, readFile(t, fsys, st.ManifestPath(2)))
			return p
		}, checkpoint.ErrCorrupt},
		{"manifest of another model", func(t *testing.T, fsys *checkpoint.MemFS, st *checkpoint.Store) string {
			// A store that expects nothing rewrites step 3 with another model.
			other := mustOpen(t, fsys, checkpoint.Options{})
			m, err := other.Load(3)
			must(t, err)
			m.ModelSpec = json.RawMessage(`{"kind":"cnn"}`)
			b, err := checkpoint.EncodeManifest(m)
			must(t, err)
			writeFile(t, fsys, st.ManifestPath(3), b)
			return st.ManifestPath(3)
		}, checkpoint.ErrMismatch},
		{"manifest of a newer format", func(t *testing.T, fsys *checkpoint.MemFS, st *checkpoint.Store) string {
			p := st.ManifestPath(3)
			writeFile(t, fsys, p, []byte(`{"format_version": 2, "step": 3}`))
			return p
		}, checkpoint.ErrVersion},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := checkpoint.NewMemFS()
			opts := checkpoint.Options{ModelSpec: testModel, Retention: checkpoint.Retention{Keep: 5}}
			st := mustOpen(t, fsys, opts)
			s2 := newState(2, 301, "m", "v")
			mustSave(t, st, 1, world, newState(1, 301, "m", "v"))
			mustSave(t, st, 2, world, s2)
			mustSave(t, st, 3, world, newState(3, 301, "m", "v"))
			bad := tc.damage(t, fsys, st)

			err := st.Verify(3)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify: %v, want %v", err, tc.want)
			}
			if !slices.Contains(checkpoint.BadFiles(err), bad) || !strings.Contains(err.Error(), bad) {
				t.Fatalf("Verify error does not name %s: %v", bad, err)
			}
			must(t, st.Verify(2))

			m, warnings, err := st.Latest()
			if err != nil || m.Step != 2 {
				t.Fatalf("Latest: step %d, %v; want a fallback to 2", m.Step, err)
			}
			if len(warnings) != 1 || !errors.Is(warnings[0], tc.want) || !strings.Contains(warnings[0].Error(), bad) {
				t.Fatalf("warnings %v: want one naming %s", warnings, bad)
			}
			checkContent(t, st, m, s2)

			ents, err := st.List()
			must(t, err)
			if e := ents[len(ents)-1]; e.Step != 3 || !e.Latest {
				t.Fatalf("List: %+v", e)
			}

			strictOpts := opts
			strictOpts.Strict = true
			strict := mustOpen(t, fsys, strictOpts)
			if _, _, err := strict.Latest(); !errors.Is(err, tc.want) || !strings.Contains(err.Error(), bad) {
				t.Fatalf("strict Latest: %v, want %v naming %s", err, tc.want, bad)
			}
		})
	}
}

func TestCorruptLatestPointer(t *testing.T) {
	tests := []struct {
		name   string
		latest string // "" removes LATEST
		want   error
	}{
		{"points at a missing step", "step-000000000009\n", checkpoint.ErrNotFound},
		{"garbage", "\xff\xfe not a step", checkpoint.ErrCorrupt},
		{"missing", "", checkpoint.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := checkpoint.NewMemFS()
			st := mustOpen(t, fsys, checkpoint.DefaultOptions())
			mustSave(t, st, 1, 2, newState(1, 50))
			s2 := newState(2, 50)
			mustSave(t, st, 2, 2, s2)
			p := st.Dir() + "/" + checkpoint.LatestName
			if tc.latest == "" {
				must(t, fsys.Remove(p))
			} else {
				writeFile(t, fsys, p, []byte(tc.latest))
			}
			m, warnings, err := st.Latest()
			if err != nil || m.Step != 2 {
				t.Fatalf("Latest: step %d, %v", m.Step, err)
			}
			if len(warnings) != 1 || !errors.Is(warnings[0], tc.want) {
				t.Fatalf("warnings %v, want one %v", warnings, tc.want)
			}
			checkContent(t, st, m, s2)
			strict := mustOpen(t, fsys, checkpoint.Options{Strict: true})
			if _, _, err := strict.Latest(); !errors.Is(err, tc.want) {
				t.Fatalf("strict: %v", err)
			}
			// Rewind repairs the pointer.
			must(t, st.Rewind(m.Step))
			if _, w, err := strict.Latest(); err != nil || len(w) > 0 {
				t.Fatalf("after Rewind: %v %v", err, w)
			}
		})
	}
}

func TestNoGoodCheckpoint(t *testing.T) {
	fsys := checkpoint.NewMemFS()
	st := mustOpen(t, fsys, checkpoint.DefaultOptions())
	mustSave(t, st, 1, 2, newState(1, 50))
	must(t, fsys.Remove(st.ShardPath(1, 0)))
	_, _, err := st.Latest()
	if !errors.Is(err, checkpoint.ErrNotFound) || !strings.Contains(err.Error(), st.ShardPath(1, 0)) {
		t.Fatalf("Latest: %v", err)
	}
	if _, err := st.Prune(); err == nil {
		t.Fatal("Prune without a good checkpoint succeeded")
	}
}

func TestVerifyNamesEveryBadFile(t *testing.T) {
	fsys := checkpoint.NewMemFS()
	st := mustOpen(t, fsys, checkpoint.DefaultOptions())
	mustSave(t, st, 4, 4, newState(4, 80, "m"))
	must(t, fsys.Remove(st.ShardPath(4, 1)))
	b := readFile(t, fsys, st.ShardPath(4, 3))
	b[len(b)-1] ^= 0x80
	writeFile(t, fsys, st.ShardPath(4, 3), b)
	err := st.Verify(4)
	want := []string{st.ShardPath(4, 1), st.ShardPath(4, 3)}
	if got := checkpoint.BadFiles(err); !slices.Equal(got, want) {
		t.Fatalf("BadFiles %q, want %q (err %v)", got, want, err)
	}
	if !errors.Is(err, checkpoint.ErrNotFound) || !errors.Is(err, checkpoint.ErrCorrupt) {
		t.Fatalf("err %v", err)
	}
}
