package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
)

// The safetensors container (https://github.com/huggingface/safetensors):
//
//	u64 little-endian N | N bytes of JSON header, space-padded | tensor bytes
//
// The header maps each tensor name to {"dtype","shape","data_offsets"}
// (byte offsets relative to the first byte after the header) and may hold
// "__metadata__", a map of strings. This package writes and reads F32
// tensors, laid out back to back in header order; exports may also hold
// I8 tensors (one byte each: quantized weights).

const (
	metadataKey = "__metadata__"
	dtypeF32    = "F32"
	dtypeI8     = "I8"
	// maxHeaderBytes bounds a header read from a stream of unknown length
	// (the reference implementation's limit is 100 MB).
	maxHeaderBytes = 100 << 20
)

// stTensor is one tensor of a safetensors file.
type stTensor struct {
	Name       string
	Shape      []int
	Begin, End int64  // byte offsets relative to the data section
	Dtype      string // dtypeF32 or dtypeI8
}

// elems is the element count of t (End-Begin is validated to be
// elemBytes*elems).
func (t stTensor) elems() int { return int((t.End - t.Begin) / elemBytes(t.Dtype)) }

// elemBytes is the size of one element of dtype (F32 or I8).
func elemBytes(dtype string) int64 {
	if dtype == dtypeI8 {
		return 1
	}
	return 4
}

// stHeader is a parsed safetensors header.
type stHeader struct {
	Tensors   []stTensor // sorted by Begin, back to back from 0
	Meta      map[string]string
	DataStart int64 // 8 + header length
	DataLen   int64
}

// encodeHeader returns the 8-byte length prefix and the JSON header for
// tensors (offsets assigned back to back, in the order given) and meta.
// dtypes, if not nil, gives each tensor's dtype (F32 when nil).
func encodeHeader(names []string, shapes [][]int, dtypes []string, meta map[string]string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("12345678{") // length placeholder
	first := true
	comma := func() {
		if !first {
			b.WriteByte(',')
		}
		first = false
	}
	if len(meta) > 0 {
		mj, err := json.Marshal(meta)
		if err != nil {
			return nil, err
		}
		comma()
		b.WriteString(`"` + metadataKey + `":`)
		b.Write(mj)
	}
	var off int64
	for i, name := range names {
		if name == metadataKey {
			return nil, fmt.Errorf("tensor name %q is reserved", name)
		}
		n, err := shapeElems(shapes[i], math.MaxInt64/4)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		nj, err := json.Marshal(name)
		if err != nil {
			return nil, err
		}
		sj, err := json.Marshal(shapes[i])
		if err != nil {
			return nil, err
		}
		if shapes[i] == nil {
			sj = []byte("[]")
		}
		dtype := dtypeF32
		if dtypes != nil {
			dtype = dtypes[i]
		}
		comma()
		end := off + elemBytes(dtype)*n
		fmt.Fprintf(&b, `%s:{"dtype":"%s","shape":%s,"data_offsets":[%d,%d]}`, nj, dtype, sj, off, end)
		off = end
	}
	b.WriteByte('}')
	for (b.Len()-8)%8 != 0 {
		b.WriteByte(' ')
	}
	out := b.Bytes()
	binary.LittleEndian.PutUint64(out[:8], uint64(len(out)-8))
	return out, nil
}

// shapeElems multiplies the dimensions of shape, failing on a negative
// dimension or a product above limit.
func shapeElems(shape []int, limit int64) (int64, error) {
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension %d in shape %v", d, shape)
		}
		if d != 0 && n > limit/int64(d) {
			return 0, fmt.Errorf("shape %v: more than %d elements", shape, limit)
		}
		n *= int64(d)
	}
	return n, nil
}

// readHeader reads the length prefix and the header from r. size is the
// stream's exact length, or -1 when unknown; allocation never exceeds
// min(size, maxHeader) bytes. allowI8 admits I8 tensors besides F32.
func readHeader(r io.Reader, size, maxHeader int64, allowI8 bool) (stHeader, error) {
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return stHeader{}, fmt.Errorf("reading header length: %w: %w", err, ErrCorrupt)
	}
	n := binary.LittleEndian.Uint64(pre[:])
	limit := maxHeader
	if size >= 0 && size-8 < limit {
		limit = max(size-8, 0)
	}
	if n > uint64(limit) {
		return stHeader{}, fmt.Errorf("header length %d exceeds the limit %d: %w", n, limit, ErrCorrupt)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return stHeader{}, fmt.Errorf("reading %d-byte header: %w: %w", n, err, ErrCorrupt)
	}
	h, err := parseHeader(buf, allowI8)
	if err != nil {
		return stHeader{}, fmt.Errorf("header: %w: %w", err, ErrCorrupt)
	}
	h.DataStart = 8 + int64(n)
	if size >= 0 && h.DataStart+h.DataLen != size {
		return stHeader{}, fmt.Errorf("header describes %d bytes of tensor data, the file holds %d: %w",
			h.DataLen, size-h.DataStart, ErrCorrupt)
	}
	return h, nil
}

// tensorJSON is a header entry as stored.
type tensorJSON struct {
	Dtype       string  `json:"dtype"`
	Shape       []int   `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

// parseHeader parses and validates a JSON header: F32 tensors (and I8 if
// allowI8), offsets consistent with shapes, back to back from 0 with no
// gap or overlap.
func parseHeader(b []byte, allowI8 bool) (stHeader, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return stHeader{}, err
	}
	h := stHeader{Tensors: make([]stTensor, 0, len(raw))}
	for name, v := range raw {
		if name == metadataKey {
			if err := json.Unmarshal(v, &h.Meta); err != nil {
				return stHeader{}, fmt.Errorf("%s: %w", metadataKey, err)
			}
			continue
		}
		var t tensorJSON
		if err := json.Unmarshal(v, &t); err != nil {
			return stHeader{}, fmt.Errorf("tensor %q: %w", name, err)
		}
		switch {
		case t.Dtype == dtypeF32, t.Dtype == dtypeI8 && allowI8:
		case allowI8:
			return stHeader{}, fmt.Errorf("tensor %q: dtype %q: only %s and %s are supported", name, t.Dtype, dtypeF32, dtypeI8)
		default:
			return stHeader{}, fmt.Errorf("tensor %q: dtype %q: only %s is supported", name, t.Dtype, dtypeF32)
		}
		if len(t.DataOffsets) != 2 {
			return stHeader{}, fmt.Errorf("tensor %q: data_offsets has %d values, want 2", name, len(t.DataOffsets))
		}
		begin, end := t.DataOffsets[0], t.DataOffsets[1]
		if begin < 0 || end < begin {
			return stHeader{}, fmt.Errorf("tensor %q: bad data_offsets [%d,%d]", name, begin, end)
		}
		n, err := shapeElems(t.Shape, math.MaxInt64/4)
		if err != nil {
			return stHeader{}, fmt.Errorf("tensor %q: %w", name, err)
		}
		if eb := elemBytes(t.Dtype); end-begin != eb*n {
			return stHeader{}, fmt.Errorf("tensor %q: data_offsets [%d,%d] hold %d bytes, shape %v of %s needs %d",
				name, begin, end, end-begin, t.Shape, t.Dtype, eb*n)
		}
		h.Tensors = append(h.Tensors, stTensor{Name: name, Shape: t.Shape, Begin: begin, End: end, Dtype: t.Dtype})
	}
	sort.Slice(h.Tensors, func(i, j int) bool {
		a, b := h.Tensors[i], h.Tensors[j]
		return a.Begin < b.Begin || (a.Begin == b.Begin && a.End < b.End)
	})
	for _, t := range h.Tensors {
		if t.Begin != h.DataLen {
			return stHeader{}, fmt.Errorf("tensor %q starts at byte %d, want %d (tensors must be back to back)",
				t.Name, t.Begin, h.DataLen)
		}
		h.DataLen = t.End
	}
	return h, nil
}

// metaInt parses the integer metadata value key.
func metaInt(meta map[string]string, key string) (int64, error) {
	v, ok := meta[key]
	if !ok {
		return 0, fmt.Errorf("metadata %q missing", key)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("metadata %q: %w", key, err)
	}
	return n, nil
}
