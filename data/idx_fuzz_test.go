package data

import (
	"bytes"
	"compress/gzip"
	"io"
	"runtime"
	"testing"
)

// FuzzDecodeIDX: no input panics, a success returns data of exactly the
// declared size, and memory stays proportional to the (decompressed) input.
func FuzzDecodeIDX(f *testing.F) {
	good := idxBytes(0x08, []uint32{2, 3, 2}, seq(12))
	f.Add(good)
	f.Add(gz(f, good))
	f.Add(idxBytes(0x08, []uint32{4}, seq(4)))
	f.Add(idxBytes(0x08, []uint32{1 << 30}, seq(10)))
	f.Add(idxBytes(0x0D, []uint32{1}, seq(4)))
	f.Add(gz(f, idxBytes(0x08, []uint32{1 << 20, 1 << 10}, seq(64))))
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, in []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		dims, data, err := DecodeIDX(bytes.NewReader(in))
		runtime.ReadMemStats(&after)
		raw := int64(len(in))
		if len(in) >= 2 && in[0] == 0x1f && in[1] == 0x8b {
			if zr, zerr := gzip.NewReader(bytes.NewReader(in)); zerr == nil {
				n, _ := io.Copy(io.Discard, io.LimitReader(zr, MaxIDXBytes))
				raw += n
			}
		}
		if got, limit := int64(after.TotalAlloc-before.TotalAlloc), 4*raw+(4<<20); got > limit {
			t.Fatalf("input of %d bytes (%d decompressed) allocated %d bytes", len(in), raw, got)
		}
		if err != nil {
			if dims != nil || data != nil {
				t.Fatalf("error %v with non-nil results", err)
			}
			return
		}
		n := 1
		for _, d := range dims {
			n *= d
		}
		if len(dims) == 0 || len(data) != n {
			t.Fatalf("dims %v but %d bytes", dims, len(data))
		}
	})
}
