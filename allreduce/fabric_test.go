package allreduce_test

import (
	"testing"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/transport/mem"
)

// fabric builds one generation of size connected transports and can kill a
// rank the way its process dying would.
type fabric struct {
	name  string
	build func(t *testing.T, size int) (ts []allreduce.Transport, kill func(rank int))
}

var memFabric = fabric{name: "mem", build: func(t *testing.T, size int) ([]allreduce.Transport, func(int)) {
	n := mem.NewNetwork(size, 0)
	ts := make([]allreduce.Transport, size)
	for r := range size {
		ts[r] = n.Endpoint(r)
	}
	return ts, n.Kill
}}

// fabrics lists every transport the conformance tests run over (shm where
// the platform has it: platformFabrics).
var fabrics = append([]fabric{memFabric, tcpFabric}, platformFabrics...)
