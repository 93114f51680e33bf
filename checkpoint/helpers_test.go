package checkpoint_test

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/internal/testutil"
)

// evenRange is the balanced split the cluster uses: part i of parts.
func evenRange(n, parts, i int) (lo, hi int) {
	q, r := n/parts, n%parts
	lo = i*q + min(i, r)
	hi = lo + q
	if i < r {
		hi++
	}
	return lo, hi
}

// randFloats returns n floats including awkward bit patterns (NaN with a
// payload, -0, ±Inf, subnormals) that must survive bit for bit.
func randFloats(rng *rand.Rand, n int) []float32 {
	special := []float32{
		math.Float32frombits(0x7fc12345), math.Float32frombits(0xffa00001), // NaNs with payloads
		float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		math.Float32frombits(1), math.Float32frombits(0x807fffff), math.MaxFloat32,
	}
	xs := make([]float32, n)
	for i := range xs {
		if rng.IntN(16) == 0 {
			xs[i] = special[rng.IntN(len(special))]
		} else {
			xs[i] = float32(rng.NormFloat64())
		}
	}
	return xs
}

// state is the full flat content of a checkpoint.
type state struct {
	params []float32
	states map[string][]float32
}

func newState(seed uint64, n int, names ...string) state {
	rng := rand.New(rand.NewPCG(seed, 1))
	s := state{params: randFloats(rng, n), states: map[string][]float32{}}
	for _, name := range names {
		s.states[name] = randFloats(rng, n)
	}
	return s
}

var testModel = json.RawMessage(`{"kind":"mlp","sizes":[7,5,3]}`)

// testLayout covers n elements with a few tensors (and a gap if n allows).
func testLayout(n int) []checkpoint.Tensor {
	if n < 12 {
		return []checkpoint.Tensor{{Name: "w", Shape: []int{n}, Offset: 0}}
	}
	return []checkpoint.Tensor{
		{Name: "fc1.weight", Shape: []int{2, 3}, Offset: 0},
		{Name: "fc1.bias", Shape: []int{3}, Offset: 6},
		{Name: "fc2.weight", Shape: []int{n - 12}, Offset: 10}, // element 9 is a gap
		{Name: "scale", Shape: []int{}, Offset: n - 2},
	}
}

// encodeShard returns the safetensors bytes of rank's shard of s.
func encodeShard(t testing.TB, step int64, lo, hi int, s state) []byte {
	t.Helper()
	sh := &checkpoint.Shard{Step: step, Lo: lo, Hi: hi, Params: s.params[lo:hi], States: map[string][]float32{}}
	for name, v := range s.states {
		sh.States[name] = v[lo:hi]
	}
	var b bytes.Buffer
	if err := checkpoint.EncodeShard(&b, sh); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// manifestFor builds the manifest of s written by world ranks.
func manifestFor(step int64, world int, s state, shards []checkpoint.ShardInfo) checkpoint.Manifest {
	names := make([]string, 0, len(s.states))
	for _, n := range []string{"m", "v", "buf"} {
		if _, ok := s.states[n]; ok {
			names = append(names, n)
		}
	}
	return checkpoint.Manifest{
		Step: step, Epoch: int(step / 10), Cursor: checkpoint.Cursor{Epoch: int(step / 10), Step: int(step % 10)},
		RNG: []byte{1, 2, 3, byte(step)}, WorldSize: world, ModelSpec: testModel,
		NumParams: len(s.params), Layout: testLayout(len(s.params)),
		OptimizerSpec: json.RawMessage(`{"name":"adam","lr":0.001}`), OptimizerSteps: step,
		StateNames: names, Shards: shards, CreatedUnixMs: 1700000000000 + step, JobHash: "abc123",
	}
}

// writeShards uploads every rank's shard of s at step.
func writeShards(t testing.TB, st *checkpoint.Store, step int64, world int, s state) ([]checkpoint.ShardInfo, error) {
	t.Helper()
	var infos []checkpoint.ShardInfo
	for r := 0; r < world; r++ {
		lo, hi := evenRange(len(s.params), world, r)
		info, err := st.WriteShard(step, r, bytes.NewReader(encodeShard(t, step, lo, hi, s)))
		if err != nil {
			return nil, err
		}
		infos = append(infos, info)
	}
	return infos, nil
}

// save writes and commits a checkpoint; errors are returned, not fatal.
func save(t testing.TB, st *checkpoint.Store, step int64, world int, s state) (checkpoint.Manifest, error) {
	t.Helper()
	infos, err := writeShards(t, st, step, world, s)
	if err != nil {
		return checkpoint.Manifest{}, err
	}
	m := manifestFor(step, world, s, infos)
	return m, st.Commit(m)
}

func mustSave(t testing.TB, st *checkpoint.Store, step int64, world int, s state) checkpoint.Manifest {
	t.Helper()
	m, err := save(t, st, step, world, s)
	if err != nil {
		t.Fatalf("save step %d: %v", step, err)
	}
	return m
}

func mustOpen(t testing.TB, fsys checkpoint.FS, opts checkpoint.Options) *checkpoint.Store {
	t.Helper()
	st, err := checkpoint.Open(fsys, "/ckpt", opts)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// checkContent reads the whole checkpoint back and compares it with s.
func checkContent(t testing.TB, st *checkpoint.Store, m checkpoint.Manifest, s state) {
	t.Helper()
	params, states, err := st.ReadRange(m, 0, m.NumParams)
	if err != nil {
		t.Fatalf("ReadRange: %v", err)
	}
	if !testutil.BitsEqual(params, s.params) {
		t.Fatalf("step %d: params differ", m.Step)
	}
	if len(states) != len(s.states) {
		t.Fatalf("step %d: %d states, want %d", m.Step, len(states), len(s.states))
	}
	for name, v := range s.states {
		if !testutil.BitsEqual(states[name], v) {
			t.Fatalf("step %d: state %q differs", m.Step, name)
		}
	}
}

func readFile(t testing.TB, fsys checkpoint.FS, name string) []byte {
	t.Helper()
	f, err := fsys.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, fsys checkpoint.FS, name string, data []byte) {
	t.Helper()
	f, err := fsys.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := fsys.SyncDir(filepath.Dir(name)); err != nil {
		t.Fatal(err)
	}
}
