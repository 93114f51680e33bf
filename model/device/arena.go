package device

import (
	"fmt"
	"slices"
)

// Arena is the memory of a device simulated in host memory (Emu and the
// PTX interpreter): allocations at made-up, 256-byte aligned device
// addresses with unmapped gaps between them, so an access past an
// allocation's end is a fault rather than a read of its neighbour.
type Arena struct {
	allocs []allocation // ascending base
	next   uint64
}

type allocation struct {
	base uint64
	mem  []byte
}

// arenaBase is the first address an Arena hands out (never 0, so a zero
// Buffer is never valid memory).
const arenaBase = 0x7f00_0000_0000

// NewArena returns an empty arena.
func NewArena() *Arena { return &Arena{next: arenaBase} }

// Alloc returns a new zeroed allocation of n bytes.
func (a *Arena) Alloc(n int) (Buffer, error) {
	if n <= 0 {
		return Buffer{}, fmt.Errorf("%w: allocation of %d bytes", ErrDevice, n)
	}
	base := a.next
	a.allocs = append(a.allocs, allocation{base: base, mem: make([]byte, n)})
	a.next += (uint64(n)+255)/256*256 + 4096 // a gap no allocation uses
	return Buffer{Addr: base, Bytes: n}, nil
}

// Free releases the allocation that starts at b.Addr.
func (a *Arena) Free(b Buffer) error {
	i, ok := slices.BinarySearchFunc(a.allocs, b.Addr, func(x allocation, addr uint64) int {
		switch {
		case x.base < addr:
			return -1
		case x.base > addr:
			return 1
		}
		return 0
	})
	if !ok {
		return fmt.Errorf("%w: free of %#x, which is not the start of an allocation", ErrFault, b.Addr)
	}
	a.allocs = slices.Delete(a.allocs, i, i+1)
	return nil
}

// Resolve returns the n bytes at device address addr, which must lie
// inside one allocation.
func (a *Arena) Resolve(addr uint64, n int) ([]byte, error) {
	i, _ := slices.BinarySearchFunc(a.allocs, addr, func(x allocation, addr uint64) int {
		if x.base <= addr {
			return -1
		}
		return 1
	})
	// i is the first allocation whose base is above addr.
	if i == 0 || n < 0 {
		return nil, fmt.Errorf("%w: %d bytes at %#x: not device memory", ErrFault, n, addr)
	}
	al := a.allocs[i-1]
	off := addr - al.base
	if off+uint64(n) > uint64(len(al.mem)) {
		return nil, fmt.Errorf("%w: %d bytes at %#x: past the end of the %d-byte allocation at %#x", ErrFault, n, addr, len(al.mem), al.base)
	}
	return al.mem[off : off+uint64(n) : off+uint64(n)], nil
}

// Bytes returns the bytes of buffer b.
func (a *Arena) Bytes(b Buffer) ([]byte, error) { return a.Resolve(b.Addr, b.Bytes) }

// Live is the number of allocations not freed.
func (a *Arena) Live() int { return len(a.allocs) }
