package wire

import (
	"hash"
	"hash/crc32"
)

// castagnoli is the CRC32C table; it is never written after
// initialization.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// CRC32C is the CRC32C (Castagnoli) checksum of p.
func CRC32C(p []byte) uint32 { return crc32.Checksum(p, castagnoli) }

// UpdateCRC32C returns the CRC32C of what crc covered followed by p (0
// starts a new checksum).
func UpdateCRC32C(crc uint32, p []byte) uint32 { return crc32.Update(crc, castagnoli, p) }

// NewCRC32C is a running CRC32C, for io.Writer chains.
func NewCRC32C() hash.Hash32 { return crc32.New(castagnoli) }
