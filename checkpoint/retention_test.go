package checkpoint_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/ringtrain/ringtrain/checkpoint"
)

// steps returns the steps of the store's directories.
func steps(t *testing.T, st *checkpoint.Store) []int64 {
	t.Helper()
	ents, err := st.List()
	must(t, err)
	var out []int64
	for _, e := range ents {
		out = append(out, e.Step)
	}
	return out
}

func TestRetentionOnCommit(t *testing.T) {
	tests := []struct {
		keep      int
		every     int64
		commits   []int64
		want      []int64
		leftovers []int64 // shard-only directories created before the commits
	}{
		{keep: 1, commits: []int64{1, 2, 3}, want: []int64{3}},
		{keep: 2, commits: []int64{1, 2, 3, 4, 5}, want: []int64{4, 5}},
		{keep: 3, commits: []int64{10, 20}, want: []int64{10, 20}},
		{keep: 2, every: 2, commits: []int64{1, 2, 3, 4, 5, 6, 7}, want: []int64{2, 4, 6, 7}},
		{keep: 1, every: 100, commits: []int64{50, 100, 150, 200, 250}, want: []int64{100, 200, 250}},
		// Unfinished uploads older than the new checkpoint are removed;
		// newer ones may be in flight and stay.
		{keep: 2, commits: []int64{5, 10}, leftovers: []int64{3, 7, 12}, want: []int64{5, 10, 12}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("keep=%d/every=%d/%v", tc.keep, tc.every, tc.commits), func(t *testing.T) {
			st := mustOpen(t, checkpoint.NewMemFS(), checkpoint.Options{Retention: checkpoint.Retention{Keep: tc.keep, KeepEvery: tc.every}})
			for _, step := range tc.leftovers {
				_, err := writeShards(t, st, step, 2, newState(uint64(step), 20))
				must(t, err)
			}
			for _, step := range tc.commits {
				mustSave(t, st, step, 2, newState(uint64(step), 20))
			}
			if got := steps(t, st); !slices.Equal(got, tc.want) {
				t.Fatalf("kept %v, want %v", got, tc.want)
			}
			for _, step := range tc.want {
				if slices.Contains(tc.commits, step) {
					must(t, st.Verify(step))
				}
			}
		})
	}
}

func TestPruneKeepsNewestGood(t *testing.T) {
	fsys := checkpoint.NewMemFS()
	all := mustOpen(t, fsys, checkpoint.Options{Retention: checkpoint.Retention{Keep: 10}})
	for step := int64(1); step <= 5; step++ {
		mustSave(t, all, step, 2, newState(uint64(step), 40, "m"))
	}
	// 4 and 5 are corrupt: 3 is the newest good checkpoint.
	for _, step := range []int64{4, 5} {
		b := readFile(t, fsys, all.ShardPath(step, 0))
		b[len(b)-1] ^= 1
		writeFile(t, fsys, all.ShardPath(step, 0), b)
	}
	// Stray temporary file at the root, as a crash leaves.
	writeFile(t, fsys, all.Dir()+"/LATEST.tmp-99", []byte("x"))

	st := mustOpen(t, fsys, checkpoint.Options{Retention: checkpoint.Retention{Keep: 1}})
	removed, err := st.Prune()
	must(t, err)
	if !slices.Equal(removed, []int64{1, 2}) {
		t.Fatalf("removed %v, want [1 2]", removed)
	}
	if got := steps(t, st); !slices.Equal(got, []int64{3, 4, 5}) {
		t.Fatalf("kept %v, want [3 4 5]", got)
	}
	names, err := fsys.ReadDir(st.Dir())
	must(t, err)
	if slices.Contains(names, "LATEST.tmp-99") {
		t.Fatal("stray temporary file survived Prune")
	}
	m, warnings, err := st.Latest()
	if err != nil || m.Step != 3 || len(warnings) != 2 {
		t.Fatalf("Latest: step %d %v %v", m.Step, warnings, err)
	}
	// Pruning again changes nothing.
	removed, err = st.Prune()
	if err != nil || len(removed) != 0 {
		t.Fatalf("second Prune: %v %v", removed, err)
	}
}

func TestPruneFailureKeepsCommit(t *testing.T) {
	fsys := checkpoint.NewMemFS()
	st := mustOpen(t, fsys, checkpoint.Options{Retention: checkpoint.Retention{Keep: 1}})
	mustSave(t, st, 1, 2, newState(1, 30))
	infos, err := writeShards(t, st, 2, 2, newState(2, 30))
	must(t, err)
	// Commit's operations: 2×(create, write, sync, rename, syncdir) for
	// MANIFEST and LATEST, then pruning step 1: fail the first of those.
	fsys.FailAfter(10)
	err = st.Commit(manifestFor(2, 2, newState(2, 30), infos))
	if !errors.Is(err, checkpoint.ErrPrune) || !errors.Is(err, checkpoint.ErrInjected) {
		t.Fatalf("Commit: %v, want ErrPrune", err)
	}
	m, _, err := st.Latest()
	if err != nil || m.Step != 2 {
		t.Fatalf("Latest: step %d, %v", m.Step, err)
	}
}
