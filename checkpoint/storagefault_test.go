package checkpoint_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ringtrain/ringtrain/checkpoint"
)

// A storage fault at any point of WriteShard (a full or read-only disk) is
// reported as the storage's error, never as corrupt data: the caller must
// be able to tell its own disk from the sender's bytes. The shard is larger
// than the write buffer, so file writes happen while the data streams in.
func TestWriteShardStorageFaultIsNotCorrupt(t *testing.T) {
	s := newState(7, 300_000, "m")
	shard := encodeShard(t, 10, 0, 300_000, s)
	dry := checkpoint.NewMemFS()
	st := mustOpen(t, dry, checkpoint.DefaultOptions())
	before := dry.Ops()
	if _, err := st.WriteShard(10, 0, bytes.NewReader(shard)); err != nil {
		t.Fatal(err)
	}
	total := dry.Ops() - before
	if total < 5 {
		t.Fatalf("only %d write points: the shard does not stream through several writes", total)
	}
	for k := range total {
		fsys := checkpoint.NewMemFS()
		st := mustOpen(t, fsys, checkpoint.DefaultOptions())
		fsys.FailAfter(k)
		_, err := st.WriteShard(10, 0, bytes.NewReader(shard))
		if !errors.Is(err, checkpoint.ErrInjected) || errors.Is(err, checkpoint.ErrCorrupt) || errors.Is(err, checkpoint.ErrInvalid) {
			t.Fatalf("fault after %d of %d ops: %v, want the storage's error and not corrupt or invalid", k, total, err)
		}
	}
}
