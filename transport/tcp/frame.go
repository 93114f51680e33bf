package tcp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unsafe"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/internal/wire"
)

// HeaderSize is the size of a frame header in bytes.
const HeaderSize = 40

const (
	frameMagic   = 0x5452 // "RT" little-endian
	frameVersion = 2      // 1: 32 bytes, no flags and no payload checksum
)

// flagChecksummed: the frame carries the CRC32C of its payload.
const flagChecksummed = 1

// ErrChecksum: a frame's header, or its payload where the sender
// checksummed it (Spec.PayloadChecksum), does not match the CRC32C it
// carries: the bytes changed between the sender's memory and this rank's (a
// faulty NIC, memory or middlebox, or someone on the path). The collective
// fails as on a broken link.
var ErrChecksum = errors.New("tcp: frame checksum mismatch (corrupted in transit)")

// Header is a decoded frame header.
type Header struct {
	Gen    uint64
	Tag    allreduce.Tag
	Length uint32 // payload bytes, a multiple of 4
	// Checksummed: PayloadCRC is the CRC32C of the payload, which the
	// receiver checks. Otherwise PayloadCRC is 0 and only the header is
	// checksummed.
	Checksummed bool
	PayloadCRC  uint32
}

// EncodeHeader writes h into b (len(b) >= HeaderSize).
//
//	0  magic u16 | 2 version u8 | 3 op u8 | 4 seq u32 | 8 gen u64 |
//	16 step u32 | 20 chunk u32 | 24 length u32 | 28 flags u32 |
//	32 crc32c(payload) u32 (0 unless flags has flagChecksummed) |
//	36 crc32c(bytes 0..35) u32
func EncodeHeader(b []byte, h Header) {
	_ = b[HeaderSize-1]
	le := binary.LittleEndian
	le.PutUint16(b[0:], frameMagic)
	b[2] = frameVersion
	b[3] = byte(h.Tag.Op)
	le.PutUint32(b[4:], h.Tag.Seq)
	le.PutUint64(b[8:], h.Gen)
	le.PutUint32(b[16:], h.Tag.Step)
	le.PutUint32(b[20:], h.Tag.Chunk)
	le.PutUint32(b[24:], h.Length)
	var flags, sum uint32
	if h.Checksummed {
		flags, sum = flagChecksummed, h.PayloadCRC
	}
	le.PutUint32(b[28:], flags)
	le.PutUint32(b[32:], sum)
	le.PutUint32(b[36:], wire.CRC32C(b[:36]))
}

// DecodeHeader parses and checks a frame header: magic, version, checksum,
// and a payload length that is a multiple of 4 and at most maxPayload.
// Errors wrap allreduce.ErrProtocol; a header checksum mismatch wraps
// ErrChecksum too. The payload's checksum is the receiver's to check.
func DecodeHeader(b []byte, maxPayload int) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("tcp: frame header of %d bytes, want %d: %w", len(b), HeaderSize, allreduce.ErrProtocol)
	}
	le := binary.LittleEndian
	if m := le.Uint16(b[0:]); m != frameMagic {
		return Header{}, fmt.Errorf("tcp: bad frame magic %#04x: %w", m, allreduce.ErrProtocol)
	}
	if b[2] != frameVersion {
		return Header{}, fmt.Errorf("tcp: frame version %d, want %d: %w", b[2], frameVersion, allreduce.ErrProtocol)
	}
	if want, got := wire.CRC32C(b[:36]), le.Uint32(b[36:]); want != got {
		return Header{}, fmt.Errorf("tcp: frame header: %w: %w", ErrChecksum, allreduce.ErrProtocol)
	}
	flags, sum := le.Uint32(b[28:]), le.Uint32(b[32:])
	if flags&^flagChecksummed != 0 || (flags == 0 && sum != 0) {
		return Header{}, fmt.Errorf("tcp: frame flags %#x with payload checksum %08x: %w", flags, sum, allreduce.ErrProtocol)
	}
	h := Header{
		Gen: le.Uint64(b[8:]),
		Tag: allreduce.Tag{
			Op:    allreduce.Op(b[3]),
			Seq:   le.Uint32(b[4:]),
			Step:  le.Uint32(b[16:]),
			Chunk: le.Uint32(b[20:]),
		},
		Length:      le.Uint32(b[24:]),
		Checksummed: flags == flagChecksummed,
		PayloadCRC:  sum,
	}
	if h.Length%4 != 0 || int64(h.Length) > int64(maxPayload) {
		return Header{}, fmt.Errorf("tcp: frame payload of %d bytes (limit %d, multiple of 4): %w", h.Length, maxPayload, allreduce.ErrProtocol)
	}
	return h, nil
}

// readPayload fills b from r and returns the CRC32C of b, computed piece by
// piece as the bytes arrive: each piece is checksummed while it is still in
// cache and while the next one is on its way, not in a second pass over b.
func readPayload(r io.Reader, b []byte) (uint32, error) {
	var crc uint32
	for off := 0; off < len(b); {
		n, err := r.Read(b[off:])
		crc = wire.UpdateCRC32C(crc, b[off:off+n])
		off += n
		if err != nil && off < len(b) {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return crc, err
		}
	}
	return crc, nil
}

// asBytes views a float32 slice as its little-endian bytes without copying
// (Listen refuses big-endian machines).
func asBytes(f []float32) []byte {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(f))), len(f)*4)
}

func littleEndian() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}
