package serve

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReadAllAgainstIOReadAll: readAll, sized by a Content-Length that may
// be right, short, long or absent, reads what io.ReadAll reads, also
// from a reader returning one byte at a time, and passes on read errors.
func TestReadAllAgainstIOReadAll(t *testing.T) {
	for _, size := range []int{0, 1, 511, 512, 513, 3000, 70000} {
		body := bytes.Repeat([]byte("0123456789,"), size/11+1)[:size]
		for _, cl := range []int64{-1, 0, int64(size), int64(size) - 1, int64(size) + 1, int64(size) / 2, 2 * int64(size), 1 << 30} {
			for _, slow := range []bool{false, true} {
				var rd io.Reader = bytes.NewReader(body)
				if slow {
					rd = iotest.OneByteReader(rd)
				}
				got, err := readAll(rd, cl, 1<<20)
				want, _ := io.ReadAll(bytes.NewReader(body))
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("size %d, Content-Length %d, one byte at a time %v: %d bytes, %v; want %d bytes", size, cl, slow, len(got), err, len(want))
				}
			}
		}
	}
	boom := errors.New("boom")
	if _, err := readAll(io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(boom)), 10, 1<<20); !errors.Is(err, boom) {
		t.Fatalf("a failing reader: %v, want boom", err)
	}
}
