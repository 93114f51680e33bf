package checkpoint

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"

	"github.com/ringtrain/ringtrain/internal/wire"
)

// WriteShard durably stores rank's shard of step, read from r (the bytes
// EncodeShard produced, typically streamed from the worker), and returns
// its ShardInfo for the manifest. It streams: memory use does not grow with
// the shard.
//
// The header is checked as it passes (a shard of this step, a range, F32
// tensors), the data must be exactly as long as the header says and r must
// end there. The file is written to a temporary name, fsynced, renamed to
// shard-<rank>.safetensors and the directory fsynced; on any error nothing
// but a temporary file (removed best effort) is left.
//
// ErrCorrupt and ErrInvalid are about the bytes read from r; a failure of
// the storage (a full or read-only disk) is returned as the FS reported it,
// never as ErrCorrupt, so callers can tell the sender's fault from theirs.
//
// A step that already has a manifest is refused with ErrExists (after a
// restore, Rewind clears newer steps). Calls for different ranks may run
// concurrently; a repeated call for the same rank replaces the file.
func (s *Store) WriteShard(step int64, rank int, r io.Reader) (ShardInfo, error) {
	if step < 0 || rank < 0 {
		return ShardInfo{}, fmt.Errorf("checkpoint: write shard: step %d, rank %d: %w", step, rank, ErrInvalid)
	}
	if err := s.prepareStepDir(step); err != nil {
		return ShardInfo{}, fmt.Errorf("checkpoint: write shard %d of step %d: %w", rank, step, err)
	}
	info := ShardInfo{Rank: rank, File: ShardFileName(rank)}
	path := s.ShardPath(step, rank)
	err := s.writeAtomic(path, func(w io.Writer) error {
		crc := wire.NewCRC32C()
		// cw remembers a failed write: that is the disk, never corrupt data.
		cw := &countWriter{w: io.MultiWriter(w, crc)}
		h, err := readShardHeader(io.TeeReader(r, cw), -1)
		if cw.err != nil {
			return cw.err
		}
		if err != nil {
			return err
		}
		if h.step != step {
			return fmt.Errorf("shard header says step %d, writing step %d: %w", h.step, step, ErrInvalid)
		}
		if n, err := io.CopyN(cw, r, h.st.DataLen); err != nil {
			if cw.err != nil {
				return cw.err
			}
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("tensor data: %d of %d bytes: %w: %w", n, h.st.DataLen, err, ErrCorrupt)
		}
		var one [1]byte
		if n, err := io.ReadFull(r, one[:]); n > 0 {
			return fmt.Errorf("bytes after the last tensor: %w", ErrCorrupt)
		} else if !errors.Is(err, io.EOF) {
			return err
		}
		info.Lo, info.Hi, info.Size, info.CRC32C = h.lo, h.hi, cw.n, crc.Sum32()
		return nil
	})
	if err != nil {
		return ShardInfo{}, fmt.Errorf("checkpoint: write shard: %w", fileErr(path, err))
	}
	return info, nil
}

// prepareStepDir refuses a committed step and creates its directory
// durably if needed.
func (s *Store) prepareStepDir(step int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	dir := s.StepDir(step)
	fi, err := s.fs.Stat(dir)
	switch {
	case err == nil && !fi.IsDir():
		return fmt.Errorf("%s exists and is not a directory (a stray file where the step directory goes: move it away)", dir)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	case err == nil:
		if ok, err := s.exists(filepath.Join(dir, ManifestName)); err != nil {
			return err
		} else if ok {
			return fmt.Errorf("%s has a manifest (Rewind to an older step first): %w", dir, ErrExists)
		}
		return nil
	}
	if err := s.fs.MkdirAll(dir); err != nil {
		return err
	}
	return s.fs.SyncDir(s.dir)
}

// countWriter counts the bytes written through it and keeps the first
// write error.
type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}
