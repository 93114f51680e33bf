package checkpoint_test

import (
	"bytes"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/internal/testutil"
)

// snapshotReader reads the tree under root when the store first reads the
// shard from it: the temporary shard file exists then.
type snapshotReader struct {
	r    io.Reader
	root string
	tree testutil.Tree
	err  error
}

func (s *snapshotReader) Read(p []byte) (int, error) {
	if s.tree == nil && s.err == nil {
		s.tree, s.err = testutil.ReadTree(s.root)
	}
	return s.r.Read(p)
}

// Everything the OS store creates is its owner's alone: the directories it
// makes (parents of the store included) 0700, the temporary shard files,
// shards, manifests and LATEST 0600, through commits, pruning and a rewind.
func TestOSFSCreatesPrivateFiles(t *testing.T) {
	testutil.TypicalUmask(t)
	root := filepath.Join(t.TempDir(), "run")
	dir := filepath.Join(root, "checkpoints")
	st, err := checkpoint.Open(checkpoint.OSFS{}, dir, checkpoint.Options{Retention: checkpoint.Retention{Keep: 2}, ModelSpec: testModel})
	must(t, err)
	s := newState(5, 300, "m", "v")
	for _, step := range []int64{10, 20, 30} {
		mustSave(t, st, step, 2, s)
	}
	// Step 40: one shard read through a snapshot, then a rewind to 30
	// discards it.
	lo, hi := 0, 150
	snap := &snapshotReader{r: bytes.NewReader(encodeShard(t, 40, lo, hi, s)), root: root}
	if _, err := st.WriteShard(40, 0, snap); err != nil {
		t.Fatal(err)
	}
	must(t, snap.err)
	if bad := snap.tree.NotPrivate(); len(bad) > 0 {
		t.Errorf("while a shard is written:\n%s", strings.Join(bad, "\n"))
	}
	if !slices.ContainsFunc(snap.tree.Paths(), func(p string) bool { return strings.Contains(p, "shard-00000.safetensors.tmp-") }) {
		t.Errorf("no temporary shard file seen while writing: %v", snap.tree.Paths())
	}
	must(t, st.Rewind(30))

	tree := testutil.PrivateTree(t, root)
	for _, want := range []string{".", "checkpoints", "checkpoints/LATEST", "checkpoints/step-000000000030/MANIFEST.json",
		"checkpoints/step-000000000030/shard-00001.safetensors", "checkpoints/step-000000000020/shard-00000.safetensors"} {
		if _, ok := tree[filepath.FromSlash(want)]; !ok {
			t.Errorf("%s missing from %v", want, tree.Paths())
		}
	}
}
