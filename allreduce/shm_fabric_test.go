//go:build linux

package allreduce_test

import (
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
