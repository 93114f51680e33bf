package checkpoint_test

import (
	"bytes"
	"errors"
	"math"
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
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := checkpoint.ReadExport(bytes.NewReader(b), int64(len(b)))
		if err == nil && 4*len(e.Params) > len(b) {
			t.Fatalf("%d params from %d bytes", len(e.Params), len(b))
		}
	})
}
