//go:build gpu

package cuda

import (
	"fmt"
	"slices"

	"github.com/ringtrain/ringtrain/model/device"
)

// allocTable is the device allocations of a Device, by ascending base
// address, so that a copy or a kernel argument can be checked to lie inside
// one before the GPU sees it.
type allocTable struct{ allocs []alloc }

type alloc struct {
	base  uint64
	bytes int
}

func (t *allocTable) all() []alloc { return t.allocs }

func (t *allocTable) find(base uint64) (int, bool) {
	return slices.BinarySearchFunc(t.allocs, base, func(a alloc, base uint64) int {
		switch {
		case a.base < base:
			return -1
		case a.base > base:
			return 1
		}
		return 0
	})
}

func (t *allocTable) add(base uint64, bytes int) {
	i, _ := t.find(base)
	t.allocs = slices.Insert(t.allocs, i, alloc{base, bytes})
}

// remove drops the allocation that starts at base and returns it.
func (t *allocTable) remove(base uint64) (alloc, bool) {
	i, ok := t.find(base)
	if !ok {
		return alloc{}, false
	}
	a := t.allocs[i]
	t.allocs = slices.Delete(t.allocs, i, i+1)
	return a, true
}

// check returns an error wrapping device.ErrFault unless the n bytes at
// addr lie inside one allocation. what names the access in the error.
func (t *allocTable) check(addr uint64, n int, what string) error {
	if n < 0 {
		return fmt.Errorf("%w: cuda: %s: %d bytes", device.ErrFault, what, n)
	}
	i, _ := slices.BinarySearchFunc(t.allocs, addr, func(a alloc, addr uint64) int {
		if a.base <= addr {
			return -1
		}
		return 1
	})
	// i is the first allocation whose base is above addr.
	if i == 0 {
		return fmt.Errorf("%w: cuda: %s: %d bytes at %#x: not device memory of this device", device.ErrFault, what, n, addr)
	}
	a := t.allocs[i-1]
	if off := addr - a.base; off+uint64(n) > uint64(a.bytes) {
		return fmt.Errorf("%w: cuda: %s: %d bytes at %#x: past the end of the %d-byte allocation at %#x", device.ErrFault, what, n, addr, a.bytes, a.base)
	}
	return nil
}
