//go:build linux

package allreduce_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/transport/shm"
)

// platformFabrics are the fabrics of this platform's own transports.
var platformFabrics = []fabric{shmFabric}

// shmFabric maps one shared-memory segment per rank (each rank its own
// mapping of the same memory file, as separate processes would). Killing a
// rank marks it gone in the segment, as its process exiting would be seen
// through its pidfd; transport/shm's tests kill a real process.
var shmFabric = fabric{name: "shm", build: func(t *testing.T, size int) ([]allreduce.Transport, func(int)) {
	seg, err := shm.Create(shm.Spec{Generation: 1, Size: size, RingBytes: shm.MinRingBytes})
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Close()
	ts := make([]*shm.Transport, size)
	out := make([]allreduce.Transport, size)
	for r := range size {
		tr, err := shm.Attach(seg.File(), 1, r, shm.Config{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tr.Close() })
		ts[r], out[r] = tr, tr
	}
	return out, func(r int) { ts[r].Abort() }
}}

// Shared memory's own all-reduce (SharedReducer) runs above SmallBytes on
// the shm fabric: it matches the reference for every op, ends bitwise the
// same on every rank, repeats bitwise, and is all that ran. The fabric's
// 64 KiB rings make 16 KiB-float blocks, so the longer buffers cross many.
func TestSharedAllReduceMatchesReference(t *testing.T) {
	algorithmMatchesReferenceOn(t, []fabric{shmFabric}, allreduce.OpAllReduceShared, []int{2, 3, 4, 5}, smallCfg(), smallCfg())
}

// With Config.NoShared, or a host map that calls for the hierarchical
// all-reduce, the shm fabric keeps the frame schedules.
func TestSharedAllReduceOnlyWhereItApplies(t *testing.T) {
	noShared := smallCfg()
	noShared.NoShared = true
	for _, tc := range []struct {
		name string
		cfg  allreduce.Config
		want allreduce.Op
	}{
		{"no-shared", noShared, allreduce.OpAllReduceRing},
		{"hosts", hierCfg([]int{0, 0, 1, 1}), allreduce.OpAllReduceHier},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGroup(t, shmFabric, 4, tc.cfg)
			ops := traceOps(g)
			checkAllReduce(t, g, 4, 100_000, allreduce.Sum)
			if !ops[tc.want] || len(ops) != 1 {
				t.Fatalf("ran %v, want only %v", ops, tc.want)
			}
		})
	}
}

// The shared all-reduce allocates nothing in steady state either (small and
// many-block lengths).
func TestSharedAllReduceAllocatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for _, n := range []int{100, 300_000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			allocsPerCall(t, shmFabric, smallCfg(), n, func(c *allreduce.Comm, ctx context.Context, buf []float32) error {
				return c.AllReduce(ctx, buf, allreduce.Mean)
			})
		})
	}
}
