package checkpoint_test

import (
	"bytes"
	"os"
	"strconv"
	"testing"

	"github.com/ringtrain/ringtrain/checkpoint"
)

// BenchmarkWriteShardCommitOSFS measures the coordinator's side of one
// 100 MiB checkpoint on a real disk: WriteShard of 4 pre-encoded shards
// (params plus Adam's m and v) and Commit, which reads every shard back for
// its CRC32C, writes the manifest and LATEST, and prunes the previous
// checkpoint (Keep 1). Every file and directory is fsynced. MB/s counts the
// shard bytes. Compare with `dd if=/dev/zero of=DIR/x bs=1M count=100
// conv=fsync` on the same disk. The directory is $RINGTRAIN_BENCH_DIR if
// set, else a temporary directory.
func BenchmarkWriteShardCommitOSFS(b *testing.B) {
	const world = 4
	const numParams = (100 << 20) / 4 / 3
	s := state{params: make([]float32, numParams), states: map[string][]float32{
		"m": make([]float32, numParams), "v": make([]float32, numParams)}}
	for i := range s.params {
		s.params[i], s.states["m"][i], s.states["v"][i] = float32(i), float32(i)*0.5, float32(i)*0.25
	}
	// Shards are encoded once for step base; each iteration relabels them
	// for its own step (a same-width number in the header's metadata).
	const base = 1_000_000
	shards := make([][]byte, world)
	stepAt := make([]int, world)
	total := 0
	for r := range world {
		lo, hi := evenRange(numParams, world, r)
		shards[r] = encodeShard(b, base, lo, hi, s)
		stepAt[r] = bytes.Index(shards[r], []byte(`"step":"1000000"`)) + len(`"step":"`)
		if stepAt[r] < len(`"step":"`) {
			b.Fatal("step metadata not found")
		}
		total += len(shards[r])
	}
	dir := os.Getenv("RINGTRAIN_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	} else {
		var err error
		if dir, err = os.MkdirTemp(dir, "ckpt-bench-"); err != nil {
			b.Fatal(err)
		}
		defer os.RemoveAll(dir)
	}
	st, err := checkpoint.Open(checkpoint.OSFS{}, dir, checkpoint.Options{Retention: checkpoint.Retention{Keep: 1}})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(total))
	for i := 0; b.Loop(); i++ {
		step := int64(base + i)
		if step > 9_999_999 {
			b.Fatal("too many iterations")
		}
		infos := make([]checkpoint.ShardInfo, world)
		for r := range world {
			copy(shards[r][stepAt[r]:], strconv.FormatInt(step, 10))
			if infos[r], err = st.WriteShard(step, r, bytes.NewReader(shards[r])); err != nil {
				b.Fatal(err)
			}
		}
		if err := st.Commit(manifestFor(step, world, s, infos)); err != nil {
			b.Fatal(err)
		}
	}
}
