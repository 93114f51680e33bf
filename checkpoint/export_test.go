package checkpoint_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"strconv"
	"testing"

	"github.com/nlpodyssey/safetensors"
	"github.com/ringtrain/ringtrain/checkpoint"
)

// TestExportReadByIndependentReader exports a checkpoint written by 3 ranks
// and reads it with github.com/nlpodyssey/safetensors, a reader that shares
// no code with this package.
func TestExportReadByIndependentReader(t *testing.T) {
	for _, n := range []int{5, 40000} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			st := mustOpen(t, checkpoint.NewMemFS(), checkpoint.DefaultOptions())
			s := newState(uint64(n), n, "m", "v")
			m := mustSave(t, st, 42, 3, s)
			var b bytes.Buffer
			must(t, st.Export(m, &b))

			f, err := safetensors.Deserialize(b.Bytes())
			if err != nil {
				t.Fatalf("independent reader: %v", err)
			}
			var names []string
			for _, tv := range f.Tensors() {
				names = append(names, tv.Name)
			}
			var want []string
			for _, l := range m.Layout {
				want = append(want, l.Name)
			}
			slices.Sort(names)
			slices.Sort(want)
			if !slices.Equal(names, want) {
				t.Fatalf("tensors %q, want %q", names, want)
			}
			for _, l := range m.Layout {
				tv, ok := f.Tensor(l.Name)
				if !ok {
					t.Fatalf("tensor %q missing", l.Name)
				}
				if tv.DType() != safetensors.F32 {
					t.Fatalf("%s: dtype %v", l.Name, tv.DType())
				}
				shape := make([]int, len(tv.Shape()))
				count := 1
				for i, d := range tv.Shape() {
					shape[i] = int(d)
					count *= int(d)
				}
				if !slices.Equal(shape, l.Shape) {
					t.Fatalf("%s: shape %v, want %v", l.Name, shape, l.Shape)
				}
				data := tv.Data()
				if len(data) != 4*count {
					t.Fatalf("%s: %d bytes", l.Name, len(data))
				}
				for i := range count {
					got := math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
					if math.Float32bits(got) != math.Float32bits(s.params[l.Offset+i]) {
						t.Fatalf("%s[%d] = %v, want %v", l.Name, i, got, s.params[l.Offset+i])
					}
				}
			}
			_, md, err := safetensors.ReadMetadata(b.Bytes())
			must(t, err)
			meta := md.Metadata()
			if meta["step"] != "42" || meta["world_size"] != "3" || meta["format"] != "ringtrain.export.v1" ||
				meta["model_spec"] != string(testModel) || meta["job_hash"] != "abc123" {
				t.Fatalf("metadata %v", meta)
			}
		})
	}
}

// TestShardReadByIndependentReader: shards are standard safetensors files too.
func TestShardReadByIndependentReader(t *testing.T) {
	s := newState(3, 100, "m", "v")
	b := encodeShard(t, 7, 10, 60, s)
	f, err := safetensors.Deserialize(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Names(); len(got) != 3 {
		t.Fatalf("names %q", got)
	}
	tv, ok := f.Tensor("state.v")
	if !ok || len(tv.Shape()) != 1 || tv.Shape()[0] != 50 {
		t.Fatalf("state.v: %v %v", ok, tv.Shape())
	}
	for i := range 50 {
		if binary.LittleEndian.Uint32(tv.Data()[4*i:]) != math.Float32bits(s.states["v"][10+i]) {
			t.Fatalf("state.v[%d] differs", i)
		}
	}
}
