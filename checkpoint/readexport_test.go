package checkpoint_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/ringtrain/ringtrain/checkpoint"
)

// exportBytes exports a checkpoint of n parameters written by 3 ranks.
func exportBytes(t testing.TB, n int) ([]byte, checkpoint.Manifest, state) {
	t.Helper()
	st := mustOpen(t, checkpoint.NewMemFS(), checkpoint.DefaultOptions())
	s := newState(uint64(n), n, "m", "v")
	m := mustSave(t, st, 42, 3, s)
	var b bytes.Buffer
	if err := st.Export(m, &b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), m, s
}

// TestReadExportRoundTrip: Export then ReadExport gives every tensor's
// values bit for bit, the tensors back to back in offset order, and the
// metadata (the model spec among it).
func TestReadExportRoundTrip(t *testing.T) {
	for _, n := range []int{5, 40000} {
		b, m, s := exportBytes(t, n)
		e, err := checkpoint.ReadExport(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		if len(e.Layout) != len(m.Layout) {
			t.Fatalf("layout %v, want the tensors of %v", e.Layout, m.Layout)
		}
		at := 0
		for i, l := range e.Layout {
			want := m.Layout[i]
			size := 1
			for _, d := range want.Shape {
				size *= d
			}
			if l.Name != want.Name || l.Offset != at {
				t.Fatalf("tensor %d = %+v, want %s at %d", i, l, want.Name, at)
			}
			for j := range size {
				if math.Float32bits(e.Params[at+j]) != math.Float32bits(s.params[want.Offset+j]) {
					t.Fatalf("%s[%d] = %v, want %v", l.Name, j, e.Params[at+j], s.params[want.Offset+j])
				}
			}
			at += size
		}
		if len(e.Params) != at {
			t.Fatalf("%d params, the tensors hold %d", len(e.Params), at)
		}
		if !checkpoint.SameModel(e.ModelSpec(), m.ModelSpec) {
			t.Fatalf("model spec %s, want %s", e.ModelSpec(), m.ModelSpec)
		}
	}
}

func TestReadExportRejects(t *testing.T) {
	good, _, _ := exportBytes(t, 40)
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "header length"},
		{"truncated", good[:len(good)-3], "tensor data"},
		{"trailing", append(append([]byte(nil), good...), 0), "tensor data"},
		{"not an export", bytes.Replace(good, []byte("ringtrain.export.v1"), []byte("ringtrain.export.v0"), 1), "format"},
		{"num_params", bytes.Replace(good, []byte(`"num_params":"40"`), []byte(`"num_params":"04"`), 1), "num_params"},
	} {
		_, err := checkpoint.ReadExport(bytes.NewReader(tc.b), int64(len(tc.b)))
		if err == nil || !errors.Is(err, checkpoint.ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrCorrupt naming %q", tc.name, err, tc.want)
		}
	}
}

// FuzzReadExport: any bytes give a result or an error, never a panic, and
// never more values than the bytes hold.
func FuzzReadExport(f *testing.F) {
	good, _, _ := exportBytes(f, 40)
	f.Add(good)
	f.Add(good[:40])
	mixed := mixedExport(f)
	f.Add(mixed)
	f.Add(mixed[:len(mixed)-2])
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := checkpoint.ReadExport(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		n := 4 * len(e.Params)
		for _, it := range e.I8 {
			n += len(it.Data)
		}
		if n > len(b) {
			t.Fatalf("%d bytes of values from %d bytes", n, len(b))
		}
	})
}

// mixedExport is an export of F32 and I8 tensors (an int8-quantized
// model's): w (I8 [2,3]), w_scale (F32 [3]), b (F32 [3]).
func mixedExport(t testing.TB) []byte {
	t.Helper()
	meta := map[string]string{"format": "ringtrain.export.v1", "num_params": "12", "quantization": "int8"}
	ts := []checkpoint.ExportTensor{
		{Name: "w", Shape: []int{2, 3}, I8: []int8{-128, -1, 0, 1, 127, 5}},
		{Name: "w_scale", Shape: []int{3}, Data: []float32{0.5, 0.25, 1}},
		{Name: "b", Shape: []int{3}, Data: []float32{-1, 2, 3}},
	}
	var b bytes.Buffer
	if err := checkpoint.WriteExport(&b, ts, meta); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestReadExportI8: I8 tensors are written one byte per value and read
// back exactly, beside the F32 ones (their offsets counting F32 values
// only); the header says I8.
func TestReadExportI8(t *testing.T) {
	b := mixedExport(t)
	if !bytes.Contains(b, []byte(`"w":{"dtype":"I8","shape":[2,3],"data_offsets":[0,6]}`)) {
		t.Fatalf("header %q: want w as I8 at bytes [0,6)", b[8:200])
	}
	e, err := checkpoint.ReadExport(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if len(e.I8) != 1 || e.I8[0].Name != "w" || !slices.Equal(e.I8[0].Shape, []int{2, 3}) || !slices.Equal(e.I8[0].Data, []int8{-128, -1, 0, 1, 127, 5}) {
		t.Fatalf("I8 tensors %+v", e.I8)
	}
	if len(e.Layout) != 2 || e.Layout[0].Name != "w_scale" || e.Layout[0].Offset != 0 || e.Layout[1].Name != "b" || e.Layout[1].Offset != 3 {
		t.Fatalf("F32 layout %+v", e.Layout)
	}
	if !slices.Equal(e.Params, []float32{0.5, 0.25, 1, -1, 2, 3}) {
		t.Fatalf("F32 values %v", e.Params)
	}
	// Too few values for num_params, a wrong dtype, a truncated I8 tensor.
	for _, tc := range []struct{ name, from, to, want string }{
		{"num_params", `"num_params":"12"`, `"num_params":"11"`, "num_params"},
		{"dtype", `"dtype":"I8"`, `"dtype":"U8"`, "only F32 and I8"},
	} {
		bad := bytes.Replace(b, []byte(tc.from), []byte(tc.to), 1)
		_, err := checkpoint.ReadExport(bytes.NewReader(bad), int64(len(bad)))
		if !errors.Is(err, checkpoint.ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrCorrupt naming %q", tc.name, err, tc.want)
		}
	}
	if _, err := checkpoint.ReadExport(bytes.NewReader(b[:len(b)-15]), -1); !errors.Is(err, checkpoint.ErrCorrupt) {
		t.Errorf("truncated: %v, want ErrCorrupt", err)
	}
	// WriteExport refuses a tensor with both kinds of values.
	err = checkpoint.WriteExport(io.Discard, []checkpoint.ExportTensor{{Name: "x", Shape: []int{1}, Data: []float32{1}, I8: []int8{1}}},
		map[string]string{"format": "ringtrain.export.v1", "num_params": "1"})
	if !errors.Is(err, checkpoint.ErrInvalid) {
		t.Errorf("F32 and I8 values: %v, want ErrInvalid", err)
	}
}

// TestDecodeShardRefusesI8: shards hold F32 tensors only.
func TestDecodeShardRefusesI8(t *testing.T) {
	hdr := `{"__metadata__":{"format":"ringtrain.shard.v1","step":"0","lo":"0","hi":"4"},"params":{"dtype":"I8","shape":[4],"data_offsets":[0,4]}}`
	b := append(binary.LittleEndian.AppendUint64(nil, uint64(len(hdr))), hdr+"\x00\x01\x02\x03"...)
	if _, err := checkpoint.DecodeShard(bytes.NewReader(b), int64(len(b))); !errors.Is(err, checkpoint.ErrCorrupt) || !strings.Contains(err.Error(), "only F32") {
		t.Fatalf("I8 shard: %v, want ErrCorrupt naming only F32", err)
	}
}
