package wire

import (
	"bytes"
	"hash/crc32"
	"math"
	"testing"
)

// Values survive the round trip bit for bit, and the bytes are the
// little-endian IEEE 754 encoding (the safetensors F32 dtype).
func TestFloat32sRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []float32
		want []byte
	}{
		{"empty", nil, []byte{}},
		{"one", []float32{1}, []byte{0x00, 0x00, 0x80, 0x3f}},
		{"negative zero", []float32{float32(math.Copysign(0, -1))}, []byte{0, 0, 0, 0x80}},
		{"infinities", []float32{float32(math.Inf(1)), float32(math.Inf(-1))}, []byte{0, 0, 0x80, 0x7f, 0, 0, 0x80, 0xff}},
		{"a NaN with a payload", []float32{math.Float32frombits(0x7fc01234)}, []byte{0x34, 0x12, 0xc0, 0x7f}},
		{"smallest subnormal and max", []float32{math.Float32frombits(1), math.MaxFloat32}, []byte{1, 0, 0, 0, 0xff, 0xff, 0x7f, 0x7f}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := make([]byte, 4*len(tc.in))
			PutFloat32s(b, tc.in)
			if !bytes.Equal(b, tc.want) {
				t.Fatalf("PutFloat32s(%v) = % x, want % x", tc.in, b, tc.want)
			}
			got := make([]float32, len(tc.in))
			Float32s(got, b)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(tc.in[i]) {
					t.Fatalf("value %d: %#x, want %#x", i, math.Float32bits(got[i]), math.Float32bits(tc.in[i]))
				}
			}
		})
	}
}

// The checksum is CRC32C: its standard check value, and the same whether
// computed at once, by updates or through the hash.
func TestCRC32C(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint32
	}{
		{"", 0},
		{"123456789", 0xe3069283}, // the CRC-32C check value
		{"a", crc32.Checksum([]byte("a"), crc32.MakeTable(crc32.Castagnoli))},
	} {
		if got := CRC32C([]byte(tc.in)); got != tc.want {
			t.Errorf("CRC32C(%q) = %08x, want %08x", tc.in, got, tc.want)
		}
		var crc uint32
		for i := range len(tc.in) {
			crc = UpdateCRC32C(crc, []byte(tc.in[i:i+1]))
		}
		h := NewCRC32C()
		h.Write([]byte(tc.in))
		if crc != tc.want || h.Sum32() != tc.want {
			t.Errorf("%q: by updates %08x, hash %08x, want %08x", tc.in, crc, h.Sum32(), tc.want)
		}
	}
}
