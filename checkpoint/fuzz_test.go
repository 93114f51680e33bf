package checkpoint_test

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/internal/testutil"
)

func FuzzDecodeShard(f *testing.F) {
	s := newState(1, 20, "m", "v")
	f.Add(encodeShard(f, 3, 0, 20, s))
	f.Add(encodeShard(f, 0, 5, 5, s))
	f.Add(encodeShard(f, 1, 2, 9, state{params: s.params, states: map[string][]float32{}}))
	hdr := `{"__metadata__":{"format":"ringtrain.shard.v1","step":"0","lo":"0","hi":"1"},"params":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`
	f.Add(append(binary.LittleEndian.AppendUint64(nil, uint64(len(hdr))), hdr+"\x00\x00\x80\x3f"...))
	f.Add(binary.LittleEndian.AppendUint64(nil, 1<<40))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		sh, err := checkpoint.DecodeShard(bytes.NewReader(data), int64(len(data)))
		// The streaming path of WriteShard must agree with DecodeShard.
		step := int64(0)
		if err == nil {
			step = sh.Step
		}
		st, serr := checkpoint.Open(checkpoint.NewMemFS(), "/c", checkpoint.Options{})
		if serr != nil {
			t.Fatal(serr)
		}
		info, werr := st.WriteShard(step, 0, bytes.NewReader(data))
		if (err == nil) != (werr == nil) {
			t.Fatalf("DecodeShard: %v, WriteShard: %v", err, werr)
		}
		if err != nil {
			return
		}
		if info.Size != int64(len(data)) || info.Lo != sh.Lo || info.Hi != sh.Hi {
			t.Fatalf("WriteShard info %+v for shard [%d,%d) of %d bytes", info, sh.Lo, sh.Hi, len(data))
		}
		var b bytes.Buffer
		if err := checkpoint.EncodeShard(&b, sh); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		sh2, err := checkpoint.DecodeShard(bytes.NewReader(b.Bytes()), int64(b.Len()))
		if err != nil {
			t.Fatalf("decode of re-encoding: %v", err)
		}
		if sh2.Step != sh.Step || sh2.Lo != sh.Lo || sh2.Hi != sh.Hi || !testutil.BitsEqual(sh2.Params, sh.Params) || len(sh2.States) != len(sh.States) {
			t.Fatal("round trip differs")
		}
		for k, v := range sh.States {
			if !testutil.BitsEqual(sh2.States[k], v) {
				t.Fatalf("state %q differs", k)
			}
		}
	})
}

func FuzzDecodeManifest(f *testing.F) {
	good, err := checkpoint.EncodeManifest(validManifest())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte(`{"format_version":1}`))
	f.Add([]byte(`{"format_version":1,"world_size":1,"shards":[{"rank":0,"file":"shard-00000.safetensors","size":8}],"manifest_crc32c":0}`))
	f.Add([]byte(`{"format_version":2}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := checkpoint.DecodeManifest(data)
		if err != nil {
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("decoded manifest does not validate: %v", err)
		}
		b, err := checkpoint.EncodeManifest(m)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		m2, err := checkpoint.DecodeManifest(b)
		if err != nil {
			t.Fatalf("decode of re-encoding: %v", err)
		}
		b2, err := checkpoint.EncodeManifest(m2)
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("encoding not stable: %v", err)
		}
	})
}
