package checkpoint

import (
	"fmt"
	"io"

	"github.com/ringtrain/ringtrain/internal/wire"
)

// chunkElems is how many float32 values are converted per read or write.
const chunkElems = 16 << 10

// writeF32 writes xs little-endian, chunk by chunk through buf (at least 4
// bytes long).
func writeF32(w io.Writer, xs []float32, buf []byte) error {
	per := len(buf) / 4
	for len(xs) > 0 {
		k := min(per, len(xs))
		wire.PutFloat32s(buf, xs[:k])
		if _, err := w.Write(buf[:4*k]); err != nil {
			return err
		}
		xs = xs[k:]
	}
	return nil
}

// tensorSink says where the elements of a tensor go: elements
// [from, from+len(dst)) of the tensor are decoded into dst; the others are
// read and dropped. A nil dst drops the whole tensor.
type tensorSink func(t stTensor) (dst []float32, from int)

// readTensors reads the data section that follows a header, tensor by
// tensor in file order, handing each element to sink. It reads exactly the
// header's DataLen bytes.
func readTensors(r io.Reader, tensors []stTensor, sink tensorSink) error {
	buf := make([]byte, 4*chunkElems)
	for _, t := range tensors {
		dst, from := sink(t)
		n := t.elems()
		if from < 0 || from+len(dst) > n {
			return fmt.Errorf("tensor %q: range [%d,%d) outside its %d elements", t.Name, from, from+len(dst), n)
		}
		for i := 0; i < n; {
			k := min(chunkElems, n-i)
			if _, err := io.ReadFull(r, buf[:4*k]); err != nil {
				return fmt.Errorf("tensor %q at element %d of %d: %w: %w", t.Name, i, n, err, ErrCorrupt)
			}
			a, b := max(i, from), min(i+k, from+len(dst))
			if a < b {
				wire.Float32s(dst[a-from:b-from], buf[4*(a-i):])
			}
			i += k
		}
	}
	return nil
}

// writeI8 writes xs, one byte each (two's complement), chunk by chunk
// through buf.
func writeI8(w io.Writer, xs []int8, buf []byte) error {
	for len(xs) > 0 {
		k := min(len(buf), len(xs))
		for i, v := range xs[:k] {
			buf[i] = byte(v)
		}
		if _, err := w.Write(buf[:k]); err != nil {
			return err
		}
		xs = xs[k:]
	}
	return nil
}

// readI8 reads len(dst) bytes from r as int8 values.
func readI8(r io.Reader, dst []int8) error {
	buf := make([]byte, min(len(dst), 4*chunkElems))
	for i := 0; i < len(dst); {
		k := min(len(buf), len(dst)-i)
		if _, err := io.ReadFull(r, buf[:k]); err != nil {
			return fmt.Errorf("at element %d of %d: %w", i, len(dst), err)
		}
		for j, b := range buf[:k] {
			dst[i+j] = int8(b)
		}
		i += k
	}
	return nil
}
