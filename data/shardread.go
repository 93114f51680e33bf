package data

import (
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// ReadShard reads the shard file of entry e in dir into buf (reused when
// large enough) and checks it against the manifest: its size and CRC32C,
// its header (dtype and dim as the manifest's, count as e's), and every
// record (DecodeShard). Damaged records come back in bad; anything that
// makes the whole file unusable is err. Every error names the file and
// the byte offset at fault.
func ReadShard(dir string, m *ShardManifest, e ShardEntry, buf []byte) (s Shard, bad []error, err error) {
	path := filepath.Join(dir, e.File)
	f, err := os.Open(path)
	if err != nil {
		return Shard{}, nil, fmt.Errorf("data: shard: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Shard{}, nil, fmt.Errorf("data: shard: %w", err)
	}
	if st.Size() != e.Bytes {
		return Shard{}, nil, &ShardError{Path: path, Offset: min(st.Size(), e.Bytes),
			Msg: fmt.Sprintf("%d bytes: the manifest says %d (truncated or replaced)", st.Size(), e.Bytes)}
	}
	if int64(cap(buf)) < e.Bytes {
		buf = make([]byte, e.Bytes)
	}
	buf = buf[:e.Bytes]
	if n, err := io.ReadFull(f, buf); err != nil {
		return Shard{}, nil, &ShardError{Path: path, Offset: int64(n), Msg: fmt.Sprintf("read: %v", err)}
	}
	s, bad, err = DecodeShard(path, buf, m.Classes)
	if err != nil {
		return Shard{}, nil, err
	}
	if s.Header.DType != m.dtype() || s.Header.Dim != m.Dim() || s.Header.Count != e.Samples {
		return Shard{}, nil, &ShardError{Path: path, Offset: 10, Msg: fmt.Sprintf("header: %d %s features, %d samples: the manifest says %d %s, %d",
			s.Header.Dim, DTypeName(s.Header.DType), s.Header.Count, m.Dim(), m.DType, e.Samples)}
	}
	if len(bad) == 0 {
		if got := fmt.Sprintf("%08x", crc32.Checksum(buf, castagnoli)); got != e.CRC32C {
			return Shard{}, nil, &ShardError{Path: path, Offset: 0, Msg: fmt.Sprintf("file CRC32C %s: the manifest says %s (another file of the same size?)", got, e.CRC32C)}
		}
	}
	return s, bad, nil
}

// LoadShardSplit reads every shard of a split into one in-memory Dataset
// named name, the raw values times the manifest's input_scale (what
// evaluation uses: a test split is loaded whole). skip: damaged records
// and unreadable shards are left out and counted in skipped (each passed
// to warn), else the first is the error.
func LoadShardSplit(dir string, m *ShardManifest, entries []ShardEntry, name string, skip bool, warn func(error)) (d *Dataset, skipped int, err error) {
	return LoadShardSplitProgress(dir, m, entries, name, skip, warn, nil)
}

// LoadShardSplitProgress is LoadShardSplit that tells progress, if set,
// the samples of the shards read so far (loaded or skipped) and the
// split's total, after each shard.
func LoadShardSplitProgress(dir string, m *ShardManifest, entries []ShardEntry, name string, skip bool, warn func(error),
	progress func(done, total int)) (d *Dataset, skipped int, err error) {
	dim := m.Dim()
	read := 0
	n := Samples(entries)
	d = &Dataset{Name: name, Dim: dim, Shape: append([]int(nil), m.Shape...), Classes: m.Classes,
		X: make([]float32, 0, n*dim), Y: make([]int32, 0, n)}
	var buf []byte
	for _, e := range entries {
		s, bad, err := ReadShard(dir, m, e, buf)
		if err != nil {
			if !skip {
				return nil, 0, err
			}
			warn(err)
			skipped += e.Samples
			if read += e.Samples; progress != nil {
				progress(read, n)
			}
			continue
		}
		buf = s.Bytes
		if len(bad) > 0 && !skip {
			return nil, 0, bad[0]
		}
		for _, b := range bad {
			warn(b)
		}
		for i := range s.Header.Count {
			if len(bad) > 0 && s.checkRecord(i, m.Classes) != nil {
				skipped++
				continue
			}
			d.X = append(d.X, make([]float32, dim)...)
			d.Y = append(d.Y, s.Record(i, m.InputScale, d.X[len(d.X)-dim:]))
		}
		if read += e.Samples; progress != nil {
			progress(read, n)
		}
	}
	d.N = len(d.Y)
	if d.N == 0 {
		return nil, skipped, fmt.Errorf("data: shards: %s: no readable samples", name)
	}
	return d, skipped, nil
}
