package checkpoint

import (
	"errors"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// MemFS is an in-memory FS that models durability the way
// cockroachdb/pebble's NewCrashableMem does: every file keeps the bytes it
// had at its last Sync and every directory the entries it had at its last
// SyncDir. CrashClone returns the state a machine would find after a power
// cut; CrashAfter and FailAfter inject a crash or an error at the N-th
// mutating operation, so a test can crash at every write point.
//
// Mutating operations, each counted once per call: Create, File.Write,
// File.Sync, Rename, Remove, RemoveAll, MkdirAll, SyncDir. Reads (Open,
// reading, ReadDir, Stat) and Close are not counted.
//
// Paths are slash-separated; relative and absolute names address the same
// tree ("a/b" is "/a/b", "../a" is "/a"). MemFS is safe for concurrent use.
type MemFS struct {
	mu struct {
		sync.Mutex
		root *memNode
		ops  int // mutating operations so far
		// failAt and crashAt are op numbers (1-based, 0 = none): op
		// failAt fails with ErrInjected; op crashAt and every later
		// operation fail with ErrCrashed.
		failAt, crashAt int
		crashed         bool
	}
}

var _ FS = (*MemFS)(nil)

// memNode is a file or a directory. A file has data (what reads see) and
// durable (what survives a crash); a directory has children (live entries)
// and synced (entries as of the last SyncDir).
type memNode struct {
	isDir    bool
	data     []byte
	durable  []byte
	children map[string]*memNode
	synced   map[string]*memNode
}

func newDirNode() *memNode {
	return &memNode{isDir: true, children: map[string]*memNode{}, synced: map[string]*memNode{}}
}

// NewMemFS returns an empty MemFS; its root directory always exists.
func NewMemFS() *MemFS {
	m := &MemFS{}
	m.mu.root = newDirNode()
	return m
}

// splitPath turns a name into its components; the root is nil. Names are
// cleaned as if absolute, so ".." never leaves the root.
func splitPath(name string) []string {
	p := path.Clean("/" + filepath.ToSlash(name))
	if p == "/" {
		return nil
	}
	return strings.Split(p[1:], "/")
}

func pathErr(op, name string, err error) error { return &fs.PathError{Op: op, Path: name, Err: err} }

// lookupLocked returns the node at parts, or nil.
func (m *MemFS) lookupLocked(parts []string) *memNode {
	n := m.mu.root
	for _, p := range parts {
		if !n.isDir {
			return nil
		}
		if n = n.children[p]; n == nil {
			return nil
		}
	}
	return n
}

// parentLocked returns the directory holding name and name's base.
func (m *MemFS) parentLocked(op, name string) (*memNode, string, error) {
	parts := splitPath(name)
	if len(parts) == 0 {
		return nil, "", pathErr(op, name, errors.New("is the root"))
	}
	dir := m.lookupLocked(parts[:len(parts)-1])
	if dir == nil {
		return nil, "", pathErr(op, name, fs.ErrNotExist)
	}
	if !dir.isDir {
		return nil, "", pathErr(op, name, errors.New("parent is not a directory"))
	}
	return dir, parts[len(parts)-1], nil
}

// nodeLocked returns the node named name.
func (m *MemFS) nodeLocked(op, name string) (*memNode, error) {
	n := m.lookupLocked(splitPath(name))
	if n == nil {
		return nil, pathErr(op, name, fs.ErrNotExist)
	}
	return n, nil
}

// Create implements FS. Like O_TRUNC on a real file system it puts a new,
// empty file under name; the old one survives a crash unless the directory
// is synced.
func (m *MemFS) Create(name string) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.opLocked("create", name); err != nil {
		return nil, err
	}
	dir, base, err := m.parentLocked("create", name)
	if err != nil {
		return nil, err
	}
	if old := dir.children[base]; old != nil && old.isDir {
		return nil, pathErr("create", name, errors.New("is a directory"))
	}
	n := &memNode{}
	dir.children[base] = n
	return &memFile{fs: m, node: n, name: name}, nil
}

// Open implements FS.
func (m *MemFS) Open(name string) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mu.crashed {
		return nil, pathErr("open", name, ErrCrashed)
	}
	n, err := m.nodeLocked("open", name)
	if err != nil {
		return nil, err
	}
	if n.isDir {
		return nil, pathErr("open", name, errors.New("is a directory"))
	}
	return &memReader{fs: m, node: n, name: name}, nil
}

// Rename implements FS.
func (m *MemFS) Rename(oldname, newname string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.opLocked("rename", oldname); err != nil {
		return err
	}
	odir, obase, err := m.parentLocked("rename", oldname)
	if err != nil {
		return err
	}
	ndir, nbase, err := m.parentLocked("rename", newname)
	if err != nil {
		return err
	}
	n := odir.children[obase]
	if n == nil {
		return pathErr("rename", oldname, fs.ErrNotExist)
	}
	if t := ndir.children[nbase]; t != nil && t.isDir {
		return pathErr("rename", newname, errors.New("is a directory"))
	}
	delete(odir.children, obase)
	ndir.children[nbase] = n
	return nil
}

// Remove implements FS.
func (m *MemFS) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.opLocked("remove", name); err != nil {
		return err
	}
	dir, base, err := m.parentLocked("remove", name)
	if err != nil {
		return err
	}
	n := dir.children[base]
	if n == nil {
		return pathErr("remove", name, fs.ErrNotExist)
	}
	if n.isDir && len(n.children) > 0 {
		return pathErr("remove", name, errors.New("directory not empty"))
	}
	delete(dir.children, base)
	return nil
}

// RemoveAll implements FS.
func (m *MemFS) RemoveAll(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.opLocked("removeall", name); err != nil {
		return err
	}
	dir, base, err := m.parentLocked("removeall", name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	delete(dir.children, base)
	return nil
}

// MkdirAll implements FS.
func (m *MemFS) MkdirAll(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.opLocked("mkdir", dir); err != nil {
		return err
	}
	n := m.mu.root
	for _, p := range splitPath(dir) {
		c := n.children[p]
		if c == nil {
			c = newDirNode()
			n.children[p] = c
		}
		if !c.isDir {
			return pathErr("mkdir", dir, errors.New("not a directory"))
		}
		n = c
	}
	return nil
}

// ReadDir implements FS.
func (m *MemFS) ReadDir(dir string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mu.crashed {
		return nil, pathErr("readdir", dir, ErrCrashed)
	}
	n, err := m.nodeLocked("readdir", dir)
	if err != nil {
		return nil, err
	}
	if !n.isDir {
		return nil, pathErr("readdir", dir, errors.New("not a directory"))
	}
	names := make([]string, 0, len(n.children))
	for name := range n.children {
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

// Stat implements FS.
func (m *MemFS) Stat(name string) (fs.FileInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mu.crashed {
		return nil, pathErr("stat", name, ErrCrashed)
	}
	n, err := m.nodeLocked("stat", name)
	if err != nil {
		return nil, err
	}
	return memInfo{name: path.Base("/" + filepath.ToSlash(name)), size: int64(len(n.data)), dir: n.isDir}, nil
}

// SyncDir implements FS.
func (m *MemFS) SyncDir(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.opLocked("syncdir", dir); err != nil {
		return err
	}
	n, err := m.nodeLocked("syncdir", dir)
	if err != nil {
		return err
	}
	if !n.isDir {
		return pathErr("syncdir", dir, errors.New("not a directory"))
	}
	n.synced = make(map[string]*memNode, len(n.children))
	for k, v := range n.children {
		n.synced[k] = v
	}
	return nil
}

// memInfo implements fs.FileInfo.
type memInfo struct {
	name string
	size int64
	dir  bool
}

func (i memInfo) Name() string { return i.name }
func (i memInfo) Size() int64  { return i.size }
func (i memInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return i.dir }
func (i memInfo) Sys() any           { return nil }
