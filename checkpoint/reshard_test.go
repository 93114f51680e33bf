package checkpoint_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/internal/testutil"
)

// readAsWorld reads the checkpoint as a world of the given size would, one
// rank's range at a time, and concatenates the pieces.
func readAsWorld(t *testing.T, st *checkpoint.Store, m checkpoint.Manifest, world int) state {
	t.Helper()
	out := state{states: map[string][]float32{}}
	for r := range world {
		lo, hi := evenRange(m.NumParams, world, r)
		p, s, err := st.ReadRange(m, lo, hi)
		if err != nil {
			t.Fatalf("world %d rank %d [%d,%d): %v", world, r, lo, hi, err)
		}
		out.params = append(out.params, p...)
		for k, v := range s {
			out.states[k] = append(out.states[k], v...)
		}
	}
	return out
}

func TestReshard(t *testing.T) {
	tests := []struct {
		n        int
		from     int
		toWorlds []int
	}{
		{1001, 4, []int{1, 2, 3, 4, 5, 7}},
		{1001, 2, []int{3}},
		{1001, 3, []int{4}},
		{1000, 1, []int{2, 8}},
		{40000, 3, []int{2, 4}},   // shards span several read chunks
		{3, 4, []int{1, 2, 4, 5}}, // more ranks than params: empty shards
		{0, 2, []int{1, 3}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("n=%d/from=%d", tc.n, tc.from), func(t *testing.T) {
			st := mustOpen(t, checkpoint.NewMemFS(), checkpoint.DefaultOptions())
			s := newState(uint64(tc.n), tc.n, "m", "v")
			m := mustSave(t, st, 7, tc.from, s)
			for _, w := range tc.toWorlds {
				got := readAsWorld(t, st, m, w)
				if !testutil.BitsEqual(got.params, s.params) {
					t.Fatalf("world %d: params differ", w)
				}
				for name, want := range s.states {
					if !testutil.BitsEqual(got.states[name], want) {
						t.Fatalf("world %d: state %q differs", w, name)
					}
				}
			}
		})
	}
}

func TestReadIntoSelective(t *testing.T) {
	fsys := checkpoint.NewMemFS()
	st := mustOpen(t, fsys, checkpoint.DefaultOptions())
	s := newState(9, 500, "m", "v")
	m := mustSave(t, st, 1, 4, s)

	// All parameters, no state: every shard is read.
	params := make([]float32, 500)
	must(t, st.ReadInto(m, 0, params, nil))
	if !testutil.BitsEqual(params, s.params) {
		t.Fatal("params differ")
	}
	// Only one state over a range inside shard 2: other shards are not
	// read, so damage to them does not matter.
	must(t, fsys.Remove(st.ShardPath(1, 0)))
	v := make([]float32, 50)
	must(t, st.ReadInto(m, 260, nil, map[string][]float32{"v": v}))
	if !testutil.BitsEqual(v, s.states["v"][260:310]) {
		t.Fatal("state v differs")
	}

	tests := []struct {
		name   string
		lo     int
		params []float32
		states map[string][]float32
		want   error
	}{
		{"negative lo", -1, make([]float32, 1), nil, checkpoint.ErrInvalid},
		{"past the end", 450, make([]float32, 51), nil, checkpoint.ErrInvalid},
		{"state past the end", 499, nil, map[string][]float32{"m": make([]float32, 2)}, checkpoint.ErrInvalid},
		{"unknown state", 0, nil, map[string][]float32{"momentum": {}}, checkpoint.ErrMismatch},
		{"needs the removed shard", 0, make([]float32, 10), nil, checkpoint.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := st.ReadInto(m, tc.lo, tc.params, tc.states); !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
	if _, _, err := st.ReadRange(m, 10, 5); !errors.Is(err, checkpoint.ErrInvalid) {
		t.Fatalf("inverted range: %v", err)
	}
}
