package checkpoint_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/internal/testutil"
)

func TestShardRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	tests := []struct {
		name   string
		shard  checkpoint.Shard
		states []string
	}{
		{"empty range", checkpoint.Shard{Step: 0, Lo: 5, Hi: 5, Params: []float32{}}, nil},
		{"params only", checkpoint.Shard{Step: 3, Lo: 0, Hi: 10, Params: randFloats(rng, 10)}, nil},
		{"adam", checkpoint.Shard{Step: 1 << 40, Lo: 100, Hi: 1100, Params: randFloats(rng, 1000),
			States: map[string][]float32{"m": randFloats(rng, 1000), "v": randFloats(rng, 1000)}}, nil},
		{"large, crosses chunks", checkpoint.Shard{Step: 9, Lo: 1, Hi: 40001, Params: randFloats(rng, 40000),
			States: map[string][]float32{"buf": randFloats(rng, 40000)},
			Meta:   map[string]string{"rank": "3", "note": "héllo \"quoted\""}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := checkpoint.EncodeShard(&b, &tc.shard); err != nil {
				t.Fatal(err)
			}
			if n := binary.LittleEndian.Uint64(b.Bytes()); (n+8)%8 != 0 {
				t.Errorf("header length %d: data does not start 8-aligned", n)
			}
			got, err := checkpoint.DecodeShard(bytes.NewReader(b.Bytes()), int64(b.Len()))
			if err != nil {
				t.Fatal(err)
			}
			if got.Step != tc.shard.Step || got.Lo != tc.shard.Lo || got.Hi != tc.shard.Hi {
				t.Fatalf("got step %d [%d,%d), want %d [%d,%d)", got.Step, got.Lo, got.Hi, tc.shard.Step, tc.shard.Lo, tc.shard.Hi)
			}
			if !testutil.BitsEqual(got.Params, tc.shard.Params) {
				t.Fatal("params differ")
			}
			if len(got.States) != len(tc.shard.States) {
				t.Fatalf("%d states, want %d", len(got.States), len(tc.shard.States))
			}
			for k, v := range tc.shard.States {
				if !testutil.BitsEqual(got.States[k], v) {
					t.Fatalf("state %q differs", k)
				}
			}
			if !reflect.DeepEqual(got.Meta, tc.shard.Meta) {
				t.Fatalf("meta %v, want %v", got.Meta, tc.shard.Meta)
			}
			// Deterministic: encoding again gives the same bytes.
			var b2 bytes.Buffer
			if err := checkpoint.EncodeShard(&b2, got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b.Bytes(), b2.Bytes()) {
				t.Fatal("re-encoding differs")
			}
		})
	}
}

func TestEncodeShardRejectsBadInput(t *testing.T) {
	tests := []struct {
		name  string
		shard checkpoint.Shard
	}{
		{"negative step", checkpoint.Shard{Step: -1}},
		{"inverted range", checkpoint.Shard{Lo: 3, Hi: 2}},
		{"params length", checkpoint.Shard{Lo: 0, Hi: 2, Params: []float32{1}}},
		{"state length", checkpoint.Shard{Lo: 0, Hi: 1, Params: []float32{1}, States: map[string][]float32{"m": {}}}},
		{"empty state name", checkpoint.Shard{Lo: 0, Hi: 1, Params: []float32{1}, States: map[string][]float32{"": {1}}}},
		{"reserved meta", checkpoint.Shard{Params: []float32{}, Meta: map[string]string{"lo": "0"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkpoint.EncodeShard(&bytes.Buffer{}, &tc.shard)
			if !errors.Is(err, checkpoint.ErrInvalid) {
				t.Fatalf("err %v, want ErrInvalid", err)
			}
		})
	}
}

func TestDecodeShardRejectsDamage(t *testing.T) {
	sh := checkpoint.Shard{Step: 2, Lo: 0, Hi: 50, Params: make([]float32, 50), States: map[string][]float32{"m": make([]float32, 50)}}
	var b bytes.Buffer
	if err := checkpoint.EncodeShard(&b, &sh); err != nil {
		t.Fatal(err)
	}
	good := b.Bytes()
	// Every truncation fails cleanly, whether the size is honest or not.
	for n := 0; n < len(good); n++ {
		if _, err := checkpoint.DecodeShard(bytes.NewReader(good[:n]), int64(n)); !errors.Is(err, checkpoint.ErrCorrupt) {
			t.Fatalf("truncated to %d (honest size): err %v, want ErrCorrupt", n, err)
		}
		if _, err := checkpoint.DecodeShard(bytes.NewReader(good[:n]), int64(len(good))); !errors.Is(err, checkpoint.ErrCorrupt) {
			t.Fatalf("truncated to %d (claimed full size): err %v, want ErrCorrupt", n, err)
		}
	}
	hostile := func(header string) []byte {
		out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
		return append(out, header...)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"huge header length", binary.LittleEndian.AppendUint64(nil, 1<<62)},
		{"header not json", hostile("not json")},
		{"no metadata", hostile(`{"params":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}`)},
		{"wrong dtype", hostile(`{"__metadata__":{"format":"ringtrain.shard.v1","step":"0","lo":"0","hi":"0"},"params":{"dtype":"F16","shape":[0],"data_offsets":[0,0]}}`)},
		{"huge shape", hostile(`{"__metadata__":{"format":"ringtrain.shard.v1","step":"0","lo":"0","hi":"1000000000000"},"params":{"dtype":"F32","shape":[1000000000000],"data_offsets":[0,4000000000000]}}`)},
		{"overflowing shape", hostile(`{"__metadata__":{"format":"ringtrain.shard.v1","step":"0","lo":"0","hi":"1"},"params":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}`)},
		{"negative offsets", hostile(`{"__metadata__":{"format":"ringtrain.shard.v1","step":"0","lo":"0","hi":"0"},"params":{"dtype":"F32","shape":[0],"data_offsets":[-4,-4]}}`)},
		{"no params", hostile(`{"__metadata__":{"format":"ringtrain.shard.v1","step":"0","lo":"0","hi":"0"}}`)},
		{"extra tensor", hostile(`{"__metadata__":{"format":"ringtrain.shard.v1","step":"0","lo":"0","hi":"0"},"params":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"x":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}`)},
		{"shape disagrees with range", hostile(`{"__metadata__":{"format":"ringtrain.shard.v1","step":"0","lo":"0","hi":"0"},"params":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`)},
		{"not a shard", hostile(`{"__metadata__":{"format":"other"},"params":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}`)},
		{"trailing data", append(append([]byte(nil), good...), 0, 0, 0, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := checkpoint.DecodeShard(bytes.NewReader(tc.data), int64(len(tc.data)))
			if !errors.Is(err, checkpoint.ErrCorrupt) {
				t.Fatalf("err %v, want ErrCorrupt", err)
			}
		})
	}
}
