package wire

import (
	"encoding/binary"
	"math"
)

// PutFloat32s writes src into dst as little-endian IEEE 754 values, bit for
// bit (NaN payloads included). dst must hold at least 4*len(src) bytes.
func PutFloat32s(dst []byte, src []float32) {
	_ = dst[:4*len(src)] // one bounds check, and a clear panic on a short dst
	for i, x := range src {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(x))
	}
}

// Float32s decodes len(dst) little-endian IEEE 754 values from src, bit for
// bit. src must hold at least 4*len(dst) bytes.
func Float32s(dst []float32, src []byte) {
	_ = src[:4*len(dst)]
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}
