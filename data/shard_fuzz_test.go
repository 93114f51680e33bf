package data

import (
	"testing"
)

// DecodeShard never panics and never accepts a file whose size is not the
// header's; every record it accepts decodes.
func FuzzDecodeShard(f *testing.F) {
	b := AppendShardHeader(nil, ShardHeader{DType: ShardUint8, Dim: 3, Count: 2})
	b, _ = AppendRecord(b, ShardUint8, 1, []float32{1, 2, 3})
	b, _ = AppendRecord(b, ShardUint8, 0, []float32{0, 255, 7})
	f.Add(b, 2)
	c := AppendShardHeader(nil, ShardHeader{DType: ShardFloat32, Dim: 2, Count: 1})
	c, _ = AppendRecord(c, ShardFloat32, 0, []float32{1.5, -2})
	f.Add(c, 3)
	f.Add(b[:20], 2)
	f.Add([]byte(ShardMagic), 2)
	f.Fuzz(func(t *testing.T, b []byte, classes int) {
		s, bad, err := DecodeShard("fuzz", b, classes)
		if err != nil {
			return
		}
		if int64(len(b)) != s.Header.FileSize() {
			t.Fatalf("accepted %d bytes for a header of size %d", len(b), s.Header.FileSize())
		}
		x := make([]float32, s.Header.Dim)
		for i := range min(s.Header.Count, 64) {
			s.Record(i, 0.5, x)
		}
		_ = bad
	})
}

// DecodeManifest never panics, and a manifest it accepts validates.
func FuzzDecodeManifest(f *testing.F) {
	f.Add([]byte(`{"format":"ringtrain-shards","version":1,"shape":[2],"dtype":"uint8","classes":2,"input_scale":1,"input_min":0,"input_max":1,"train":[{"file":"a.rts","samples":1,"bytes":42,"crc32c":"00000000"}],"test":[]}`))
	f.Add([]byte(`{"format":"ringtrain-shards","version":1,"shape":[1,28,28],"dtype":"float32","classes":10,"input_scale":0.5,"train":[{"file":"../a","samples":1,"bytes":1,"crc32c":"0"}]}`))
	f.Add([]byte(`{"format":"ringtrain-shards","version":1,"shape":[3],"dtype":"uint8","classes":3,"input_scale":1,"input_min":0,"input_max":2,"source":"text","vocab":"\nab","context":2,"train":[{"file":"a.rts","samples":1,"bytes":43,"crc32c":"00000000"}],"test":[]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeManifest("fuzz", b)
		if err != nil {
			return
		}
		if err := m.Validate("again"); err != nil {
			t.Fatalf("accepted, then: %v", err)
		}
		if m.Dim() < 1 || Samples(m.Train) < 1 {
			t.Fatalf("accepted dim %d, %d samples", m.Dim(), Samples(m.Train))
		}
	})
}
