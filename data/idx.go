package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// MaxIDXBytes caps the data section DecodeIDX accepts (the product of the
// dimensions). It is checked before anything is allocated. On 32-bit
// platforms the cap is math.MaxInt.
const MaxIDXBytes = 1 << 31

// maxIDX is MaxIDXBytes as an int on every platform.
const maxIDX int64 = min(MaxIDXBytes, math.MaxInt)

// idxUint8 is the only IDX element type supported: unsigned byte.
const idxUint8 = 0x08

// DecodeIDX reads one IDX file, gzipped or not (detected by the 0x1f 0x8b
// magic), and returns its dimensions and data. Only unsigned-byte (0x08)
// files are accepted. The header must be 0x00 0x00, the type, the number of
// dimensions (>= 1), then one big-endian uint32 per dimension; the data must
// be exactly the product of the dimensions, with nothing after it. Memory
// grows with the bytes actually read, never with what the header claims.
func DecodeIDX(r io.Reader) (dims []int, data []byte, err error) {
	return decodeIDX(r, 0)
}

// decodeIDX is DecodeIDX; wantDims > 0 refuses any other number of
// dimensions as soon as the header is read, before the dimensions are (a
// label file with an image file's header would otherwise read label bytes
// as dimensions and be reported as too large).
func decodeIDX(r io.Reader, wantDims int) (dims []int, data []byte, err error) {
	br := bufio.NewReader(r)
	src := io.Reader(br)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("idx: gzip header: %w", err)
		}
		defer zr.Close()
		src = zr
	}
	var head [4]byte
	if n, err := io.ReadFull(src, head[:]); err != nil {
		return nil, nil, fmt.Errorf("idx: header: got %d of 4 bytes: %w", n, eofAsUnexpected(err))
	}
	if head[0] != 0 || head[1] != 0 {
		return nil, nil, fmt.Errorf("idx: bad magic %#08x: want 0x0000 followed by the type and dimension count bytes",
			binary.BigEndian.Uint32(head[:]))
	}
	if head[2] != idxUint8 {
		return nil, nil, fmt.Errorf("idx: element type %#02x (%s): only 0x08 (unsigned byte) is supported",
			head[2], idxTypeName(head[2]))
	}
	nd := int(head[3])
	if nd == 0 {
		return nil, nil, fmt.Errorf("idx: 0 dimensions: want at least 1")
	}
	if wantDims > 0 && nd != wantDims {
		return nil, nil, fmt.Errorf("idx: the header (%#08x) declares %d dimension(s), %s: want %d, %s",
			binary.BigEndian.Uint32(head[:]), nd, idxKind(nd), wantDims, idxKind(wantDims))
	}
	raw := make([]byte, 4*nd)
	if n, err := io.ReadFull(src, raw); err != nil {
		return nil, nil, fmt.Errorf("idx: dimensions: got %d of %d bytes for %d dimensions: %w", n, len(raw), nd, eofAsUnexpected(err))
	}
	dims = make([]int, nd)
	var total int64 = 1
	for i := range dims {
		d := int64(binary.BigEndian.Uint32(raw[4*i:]))
		if d > maxIDX || (d != 0 && total > maxIDX/d) {
			return nil, nil, fmt.Errorf("idx: dimension %d of %d is %d: the data would exceed MaxIDXBytes (%d bytes)", i+1, nd, d, maxIDX)
		}
		dims[i] = int(d)
		total *= d
	}
	data, err = readExact(src, int(total))
	if err != nil {
		return nil, nil, fmt.Errorf("idx: data of dimensions %v: %w", dims, err)
	}
	// Exactly the declared size: there must be nothing left. Reading to EOF
	// also makes gzip verify its checksum.
	var extra [1]byte
	if n, err := io.ReadFull(src, extra[:]); n > 0 {
		return nil, nil, fmt.Errorf("idx: trailing data after the %d bytes that dimensions %v declare", total, dims)
	} else if err != io.EOF {
		return nil, nil, fmt.Errorf("idx: after data: %w", err)
	}
	return dims, data, nil
}

// readExact reads exactly n bytes, growing its buffer (by doubling, capped
// at n) only as data arrives, so a false size in a short input does not
// allocate.
func readExact(r io.Reader, n int) ([]byte, error) {
	const first = 64 << 10
	buf := make([]byte, 0, min(n, first))
	for len(buf) < n {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(n, 2*cap(buf)))
			copy(grown, buf)
			buf = grown
		}
		m, err := io.ReadFull(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err != nil {
			return nil, fmt.Errorf("truncated: got %d of %d bytes: %w", len(buf), n, eofAsUnexpected(err))
		}
	}
	return buf, nil
}

// eofAsUnexpected turns io.EOF into io.ErrUnexpectedEOF: inside a
// structure, a clean end of input is still a truncation.
func eofAsUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// idxKind says what an IDX file of nd dimensions usually holds.
func idxKind(nd int) string {
	switch nd {
	case 1:
		return "as in a label file (count)"
	case 3:
		return "as in an image file (count, rows, cols)"
	}
	return "neither a label nor an image file"
}

func idxTypeName(t byte) string {
	switch t {
	case 0x08:
		return "unsigned byte"
	case 0x09:
		return "signed byte"
	case 0x0B:
		return "int16"
	case 0x0C:
		return "int32"
	case 0x0D:
		return "float32"
	case 0x0E:
		return "float64"
	}
	return "unknown"
}
