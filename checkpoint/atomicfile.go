package checkpoint

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strconv"
)

// writeBufBytes is the write buffer between encoders and files.
const writeBufBytes = 256 << 10

// writeAtomic makes name hold exactly what fill writes, durably and
// atomically:
//
//  1. create name.tmp-<n> in the same directory and fill it;
//  2. fsync it and close it;
//  3. rename it over name;
//  4. fsync the directory, making the rename durable.
//
// A crash before step 4 completes leaves name as it was (or, after the
// rename, already replaced: both states are whole files). On error the
// temporary file is removed, best effort, and name is untouched.
func (s *Store) writeAtomic(name string, fill func(w io.Writer) error) error {
	tmp := name + tmpInfix + strconv.FormatUint(s.seq.Add(1), 10)
	f, err := s.fs.Create(tmp)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, writeBufBytes)
	err = fill(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.fs.Rename(tmp, name)
	}
	if err != nil {
		_ = s.fs.Remove(tmp)
		return err
	}
	return s.fs.SyncDir(filepath.Dir(name))
}

// readBounded reads the whole file at path, refusing files over limit
// bytes. A missing file is ErrNotFound, an oversized one ErrCorrupt.
func (s *Store) readBounded(path string, limit int64) ([]byte, error) {
	fi, err := s.fs.Stat(path)
	if err != nil {
		return nil, notFound(err)
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%d bytes, more than the %d allowed: %w", fi.Size(), limit, ErrCorrupt)
	}
	f, err := s.fs.Open(path)
	if err != nil {
		return nil, notFound(err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("more than the %d bytes allowed: %w", limit, ErrCorrupt)
	}
	return b, nil
}

// notFound adds ErrNotFound to an error meaning the file does not exist.
func notFound(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		if pe, ok := err.(*fs.PathError); ok {
			err = pe.Err // the FileError around this names the path
		}
		return fmt.Errorf("%w: %w", err, ErrNotFound)
	}
	return err
}

// exists reports whether path exists; errors other than "not exist" are
// returned.
func (s *Store) exists(path string) (bool, error) {
	_, err := s.fs.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}
