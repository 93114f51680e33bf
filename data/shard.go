package data

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
)

// Shard file format (version 1, little endian; docs/data.md):
//
//	header, 32 bytes:
//	  0  magic "RTSHARD1"
//	  8  version u16 (1)
//	 10  dtype u8 (ShardUint8 or ShardFloat32)
//	 11  reserved u8 (0)
//	 12  dim u32: features per sample
//	 16  count u32: samples in the file
//	 20  reserved 8 bytes (0)
//	 28  CRC32C (Castagnoli) of bytes 0..27
//	count records, each:
//	  label u32, dim features (1 byte each for uint8, 4 for float32),
//	  CRC32C of the label and the features
//
// A file is exactly ShardHeaderSize + count*RecordSize bytes.
const (
	ShardMagic      = "RTSHARD1"
	ShardVersion    = 1
	ShardHeaderSize = 32
	// MaxShardDim bounds the features per sample (16 Mi).
	MaxShardDim = 1 << 24
)

// Shard feature types.
const (
	ShardUint8   = 1
	ShardFloat32 = 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ShardHeader is a shard file's header.
type ShardHeader struct {
	DType, Dim, Count int
}

// ShardError is a damaged shard: the file and the byte offset of the
// header or record at fault. Errors wrap it (errors.As).
type ShardError struct {
	Path   string
	Offset int64
	Msg    string
}

func (e *ShardError) Error() string {
	return fmt.Sprintf("shard %s at byte offset %d: %s", e.Path, e.Offset, e.Msg)
}

// featureSize is the bytes of one feature of dtype (0 if unknown).
func featureSize(dtype int) int {
	switch dtype {
	case ShardUint8:
		return 1
	case ShardFloat32:
		return 4
	}
	return 0
}

// DTypeName is the manifest's name of a dtype.
func DTypeName(dtype int) string {
	switch dtype {
	case ShardUint8:
		return "uint8"
	case ShardFloat32:
		return "float32"
	}
	return fmt.Sprintf("dtype(%d)", dtype)
}

// RecordSize is the bytes of one record: label, features, checksum.
func (h ShardHeader) RecordSize() int { return 8 + h.Dim*featureSize(h.DType) }

// FileSize is the size a shard with this header must have.
func (h ShardHeader) FileSize() int64 {
	return ShardHeaderSize + int64(h.Count)*int64(h.RecordSize())
}

// check validates the header's fields.
func (h ShardHeader) check() error {
	if featureSize(h.DType) == 0 {
		return fmt.Errorf("dtype %d: want %d (uint8) or %d (float32)", h.DType, ShardUint8, ShardFloat32)
	}
	if h.Dim < 1 || h.Dim > MaxShardDim {
		return fmt.Errorf("dim %d: want 1..%d", h.Dim, MaxShardDim)
	}
	if h.Count < 0 || h.Count > math.MaxUint32 {
		return fmt.Errorf("count %d: want 0..%d", h.Count, uint32(math.MaxUint32))
	}
	return nil
}

// AppendShardHeader appends h's encoding to b.
func AppendShardHeader(b []byte, h ShardHeader) []byte {
	var hd [ShardHeaderSize]byte
	copy(hd[:], ShardMagic)
	binary.LittleEndian.PutUint16(hd[8:], ShardVersion)
	hd[10] = byte(h.DType)
	binary.LittleEndian.PutUint32(hd[12:], uint32(h.Dim))
	binary.LittleEndian.PutUint32(hd[16:], uint32(h.Count))
	binary.LittleEndian.PutUint32(hd[28:], crc32.Checksum(hd[:28], castagnoli))
	return append(b, hd[:]...)
}

// DecodeShardHeader decodes and checks the header at the start of b.
func DecodeShardHeader(path string, b []byte) (ShardHeader, error) {
	bad := func(off int64, format string, args ...any) (ShardHeader, error) {
		return ShardHeader{}, &ShardError{Path: path, Offset: off, Msg: fmt.Sprintf(format, args...)}
	}
	if len(b) < ShardHeaderSize {
		return bad(0, "%d bytes: shorter than the %d-byte header", len(b), ShardHeaderSize)
	}
	if string(b[:8]) != ShardMagic {
		return bad(0, "magic %q: not a ringtrain shard (want %q)", b[:8], ShardMagic)
	}
	if got, want := binary.LittleEndian.Uint32(b[28:]), crc32.Checksum(b[:28], castagnoli); got != want {
		return bad(28, "header checksum %08x: want %08x (the header is damaged)", got, want)
	}
	if v := binary.LittleEndian.Uint16(b[8:]); v != ShardVersion {
		return bad(8, "version %d: this ringtrain reads version %d", v, ShardVersion)
	}
	h := ShardHeader{DType: int(b[10]), Dim: int(binary.LittleEndian.Uint32(b[12:])), Count: int(binary.LittleEndian.Uint32(b[16:]))}
	if err := h.check(); err != nil {
		return bad(10, "%v", err)
	}
	return h, nil
}

// AppendRecord appends one record of dtype: the label and the features
// (uint8: each value must be an integer in 0..255, float32: finite).
func AppendRecord(b []byte, dtype int, label int32, x []float32) ([]byte, error) {
	start := len(b)
	b = binary.LittleEndian.AppendUint32(b, uint32(label))
	for i, v := range x {
		switch dtype {
		case ShardUint8:
			if v < 0 || v > 255 || v != float32(math.Trunc(float64(v))) {
				return b[:start], fmt.Errorf("feature %d = %v: a uint8 shard holds integers 0..255", i, v)
			}
			b = append(b, byte(v))
		case ShardFloat32:
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return b[:start], fmt.Errorf("feature %d = %v: want a finite value", i, v)
			}
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		default:
			return b[:start], fmt.Errorf("dtype %d unknown", dtype)
		}
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli)), nil
}

// Shard is a shard file's content in memory: its records undecoded.
type Shard struct {
	Path   string
	Header ShardHeader
	Bytes  []byte // the whole file
}

// DecodeShard checks b as the shard file path: header, size, every
// record's checksum and label (below classes). It returns the shard and
// the records that fail their checks, each a *ShardError naming the
// record's byte offset; a damaged header or a wrong size is err.
func DecodeShard(path string, b []byte, classes int) (s Shard, bad []error, err error) {
	h, err := DecodeShardHeader(path, b)
	if err != nil {
		return Shard{}, nil, err
	}
	if want := h.FileSize(); int64(len(b)) != want {
		return Shard{}, nil, &ShardError{Path: path, Offset: min(int64(len(b)), want),
			Msg: fmt.Sprintf("%d bytes: the header's %d %s records of dim %d make %d (truncated or extended)", len(b), h.Count, DTypeName(h.DType), h.Dim, want)}
	}
	s = Shard{Path: path, Header: h, Bytes: b}
	for i := range h.Count {
		if err := s.checkRecord(i, classes); err != nil {
			bad = append(bad, err)
		}
	}
	return s, bad, nil
}

// recordOffset is the byte offset of record i.
func (s *Shard) recordOffset(i int) int64 {
	return ShardHeaderSize + int64(i)*int64(s.Header.RecordSize())
}

// checkRecord checks record i's checksum and label.
func (s *Shard) checkRecord(i, classes int) error {
	off := s.recordOffset(i)
	rs := s.Header.RecordSize()
	r := s.Bytes[off : off+int64(rs)]
	if got, want := binary.LittleEndian.Uint32(r[rs-4:]), crc32.Checksum(r[:rs-4], castagnoli); got != want {
		return &ShardError{Path: s.Path, Offset: off, Msg: fmt.Sprintf("record %d: checksum %08x, want %08x (damaged)", i, got, want)}
	}
	if l := int32(binary.LittleEndian.Uint32(r)); l < 0 || int(l) >= classes {
		return &ShardError{Path: s.Path, Offset: off, Msg: fmt.Sprintf("record %d: label %d: want [0, %d)", i, l, classes)}
	}
	if s.Header.DType == ShardFloat32 {
		f := r[4 : rs-4]
		for k := 0; k+4 <= len(f); k += 4 {
			if u := binary.LittleEndian.Uint32(f[k:]); u&0x7f800000 == 0x7f800000 { // all exponent bits: NaN or ±Inf
				return &ShardError{Path: s.Path, Offset: off + 4 + int64(k), Msg: fmt.Sprintf("record %d: feature %d = %v: want a finite value", i, k/4, math.Float32frombits(u))}
			}
		}
	}
	return nil
}

// Record writes record i's features into x (len Dim), each raw value
// times scale, and returns its label. i must be in [0, Count).
func (s *Shard) Record(i int, scale float64, x []float32) int32 {
	off := s.recordOffset(i)
	r := s.Bytes[off+4 : off+4+int64(s.Header.Dim*featureSize(s.Header.DType))]
	x = x[:s.Header.Dim]
	if s.Header.DType == ShardUint8 {
		r = r[:len(x)]
		switch scale {
		case 1.0 / 255: // as the IDX loader scales, so packed IDX trains on the same values
			for j, v := range r {
				x[j] = float32(v) / 255
			}
		default:
			for j, v := range r {
				x[j] = scaleValue(float32(v), scale)
			}
		}
	} else {
		r = r[:4*len(x)]
		for j := range x {
			x[j] = math.Float32frombits(binary.LittleEndian.Uint32(r[4*j:]))
		}
		if scale != 1 {
			for j, v := range x {
				x[j] = scaleValue(v, scale)
			}
		}
	}
	return int32(binary.LittleEndian.Uint32(s.Bytes[off:]))
}

// scaleValue is v times scale (1/255: v/255, as the IDX loader does).
func scaleValue(v float32, scale float64) float32 {
	switch scale {
	case 1:
		return v
	case 1.0 / 255:
		return v / 255
	}
	return float32(float64(v) * scale)
}
