//go:build linux

package worker

import (
	"crypto/rand"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// createArena makes a memory file for two slots of capacity float32s and
// maps it; the descriptor stays open for the successors to open.
func createArena(capacity int) (*liveArena, error) {
	if capacity < 0 || capacity > maxArenaFloats {
		return nil, fmt.Errorf("live-state arena of %d values: too large", capacity)
	}
	fd, err := unix.MemfdCreate("ringtrain-live", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("create the live-state arena: %w", err)
	}
	size := arenaBytes(capacity)
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("size the live-state arena to %d bytes: %w", size, err)
	}
	// Sealed at its size: no process holding the descriptor can cut a
	// successor's mapping short under it.
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_SEAL); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("seal the live-state arena: %w", err)
	}
	mem, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("map the live-state arena: %w", err)
	}
	a := &liveArena{mem: mem, capacity: capacity, fd: fd, pid: os.Getpid(), owner: true}
	if _, err := rand.Read(a.key[:]); err != nil {
		unix.Munmap(mem)
		unix.Close(fd)
		return nil, fmt.Errorf("live-state arena key: %w", err)
	}
	a.writeHeader()
	a.close = func() error {
		err := unix.Munmap(mem)
		if cerr := unix.Close(fd); err == nil {
			err = cerr
		}
		return err
	}
	return a, nil
}

// attachArena maps the predecessor's arena through /proc (the kernel allows
// that only to a process that may inspect the owner: the same user) and
// checks that it is the one announced with key.
func attachArena(pid, fd int, key [16]byte) (*liveArena, error) {
	path := fmt.Sprintf("/proc/%d/fd/%d", pid, fd)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open the predecessor's live-state arena: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("live-state arena %s: %w", path, err)
	}
	if seals, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0); err != nil || seals&unix.F_SEAL_SHRINK == 0 {
		return nil, fmt.Errorf("live-state arena %s is not sealed against shrinking", path)
	}
	if st.Size() < arenaHeaderLen || st.Size() > int64(arenaBytes(maxArenaFloats)) {
		return nil, fmt.Errorf("live-state arena %s: %d bytes is no arena", path, st.Size())
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("map the live-state arena %s: %w", path, err)
	}
	a := &liveArena{mem: mem, pid: pid, fd: fd, close: func() error { return unix.Munmap(mem) }}
	if err := a.checkHeader(key); err != nil {
		unix.Munmap(mem)
		return nil, fmt.Errorf("live-state arena %s: %w", path, err)
	}
	return a, nil
}
