package checkpoint

import (
	"errors"
	"io"
	"io/fs"
)

var errClosed = errors.New("file already closed")

// memFile is a MemFS file open for writing. It keeps writing to its node
// even after the name is renamed or removed, as a real descriptor does.
type memFile struct {
	fs     *MemFS
	node   *memNode
	name   string
	closed bool
}

func (f *memFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.fs.opLocked("write", f.name); err != nil {
		return 0, err
	}
	if f.closed {
		return 0, pathErr("write", f.name, errClosed)
	}
	f.node.data = append(f.node.data, p...)
	return len(p), nil
}

func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.fs.opLocked("sync", f.name); err != nil {
		return err
	}
	if f.closed {
		return pathErr("sync", f.name, errClosed)
	}
	f.node.durable = append([]byte(nil), f.node.data...)
	return nil
}

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return pathErr("close", f.name, errClosed)
	}
	f.closed = true
	return nil
}

// memReader reads a MemFS file from the start.
type memReader struct {
	fs     *MemFS
	node   *memNode
	name   string
	off    int
	closed bool
}

func (r *memReader) Read(p []byte) (int, error) {
	r.fs.mu.Lock()
	defer r.fs.mu.Unlock()
	if r.fs.mu.crashed {
		return 0, pathErr("read", r.name, ErrCrashed)
	}
	if r.closed {
		return 0, pathErr("read", r.name, fs.ErrClosed)
	}
	if r.off >= len(r.node.data) {
		return 0, io.EOF
	}
	n := copy(p, r.node.data[r.off:])
	r.off += n
	return n, nil
}

func (r *memReader) Close() error {
	r.fs.mu.Lock()
	defer r.fs.mu.Unlock()
	if r.closed {
		return pathErr("close", r.name, fs.ErrClosed)
	}
	r.closed = true
	return nil
}
