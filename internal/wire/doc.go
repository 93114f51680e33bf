// Package wire holds the byte-level encodings that every format of
// ringtrain shares, so that each is written once: float32 values as
// little-endian IEEE 754 bytes (the safetensors shards, the control
// plane's checkpoint streams) and the CRC32C (Castagnoli) checksum (shards,
// manifests, the upload stream's trailer, the data plane's frame headers).
//
// It imports no package of ours, so the lowest layers (checkpoint,
// transport/tcp) and the control plane can all use it.
package wire
