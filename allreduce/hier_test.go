package allreduce_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/internal/testutil"
	"github.com/ringtrain/ringtrain/transport/tcp"
)

// hierFabrics is fabrics with the TCP one connecting the links PeersHosts
// names for hosts (the ring's and recursive doubling's may miss some).
func hierFabrics(hosts []int) []fabric {
	out := []fabric{memFabric, {name: "tcp", build: func(t *testing.T, size int) ([]allreduce.Transport, func(int)) {
		ts := connectTCPHosts(t, hosts)
		out := make([]allreduce.Transport, size)
		for r, tr := range ts {
			out[r] = tr
		}
		return out, func(r int) { ts[r].Abort() }
	}}}
	return append(out, platformFabrics...)
}

func connectTCPHosts(t *testing.T, hosts []int) []*tcp.Transport {
	t.Helper()
	peers := make([][]int, len(hosts))
	for r := range hosts {
		ps, err := allreduce.PeersHosts(r, len(hosts), hosts)
		if err != nil {
			t.Fatal(err)
		}
		peers[r] = ps
	}
	return connectTCPPeers(t, peers, quietTCPConfig(), false)
}

func hierCfg(hosts []int) allreduce.Config {
	cfg := smallCfg()
	cfg.Hosts = hosts
	return cfg
}

// opsSeen records which collectives' steps a Comm ran (SetTracer).
type opsSeen struct {
	mu  sync.Mutex
	ops map[allreduce.Op]bool
}

func (o *opsSeen) trace(op allreduce.Op, _ int, _, _ time.Time) {
	o.mu.Lock()
	o.ops[op] = true
	o.mu.Unlock()
}

func (o *opsSeen) saw(op allreduce.Op) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.ops[op]
}

func TestHierAllReduceMatchesReference(t *testing.T) {
	for _, hosts := range [][]int{{0, 0, 1, 1}, {0, 1, 0, 1}, {0, 0, 0, 1}, {0, 1, 2}, {1, 1, 0, 2, 0}} {
		for _, f := range hierFabrics(hosts) {
			size := len(hosts)
			distinct := map[int]bool{}
			for _, h := range hosts {
				distinct[h] = true
			}
			hier := len(distinct) >= 2 && len(distinct) < size
			t.Run(fmt.Sprintf("%s/%s", f.name, strings.Trim(fmt.Sprint(hosts), "[]")), func(t *testing.T) {
				g := newGroup(t, f, size, hierCfg(hosts))
				seen := make([]*opsSeen, size)
				for r, c := range g.comms {
					seen[r] = &opsSeen{ops: map[allreduce.Op]bool{}}
					c.SetTracer(seen[r].trace)
				}
				for _, n := range []int{0, 1, size - 1, size + 1, 4099, 100_003} {
					for _, op := range []allreduce.ReduceOp{allreduce.Sum, allreduce.Mean, allreduce.Max} {
						checkAllReduce(t, g, size, n, op)
					}
				}
				for r := range size {
					if got := seen[r].saw(allreduce.OpAllReduceHier); got != hier {
						t.Errorf("rank %d ran the hierarchical all-reduce: %v, want %v", r, got, hier)
					}
				}
				// The other collectives still work on a Comm with a host map.
				mustAll(t, g.run(func(r int, c *allreduce.Comm) error {
					buf := make([]float32, 5000)
					if _, _, err := c.ReduceScatter(context.Background(), buf, allreduce.Sum); err != nil {
						return err
					}
					return c.Barrier(context.Background())
				}))
			})
		}
	}
}

// Integer inputs sum exactly in any order: the hierarchical result equals
// the flat ring's bit for bit, and Mean divides once by the world size.
func TestHierAllReduceExactAndDeterministic(t *testing.T) {
	const size, n = 4, 70_001
	hosts := []int{0, 1, 0, 1}
	for _, op := range []allreduce.ReduceOp{allreduce.Sum, allreduce.Mean} {
		var first [][]float32
		for run := range 2 {
			g := newGroup(t, memFabric, size, hierCfg(hosts))
			bufs := make([][]float32, size)
			for r := range bufs {
				bufs[r] = make([]float32, n)
				for i := range n {
					bufs[r][i] = float32((r + 1) * (i%13 + 1))
				}
			}
			mustAll(t, g.run(func(r int, c *allreduce.Comm) error {
				return c.AllReduce(context.Background(), bufs[r], op)
			}))
			for r := range bufs {
				for i := range n {
					want := float32(size * (size + 1) / 2 * (i%13 + 1))
					if op == allreduce.Mean {
						want /= size
					}
					if bufs[r][i] != want {
						t.Fatalf("%v rank %d [%d] = %v, want %v", op, r, i, bufs[r][i], want)
					}
				}
				if first != nil {
					if i := testutil.FirstBitDiff(first[r], bufs[r]); i >= 0 {
						t.Fatalf("%v run %d rank %d differs at %d", op, run, r, i)
					}
				}
			}
			first = bufs
		}
	}
}

func TestHierConfigRejectsBadHostMaps(t *testing.T) {
	for _, hosts := range [][]int{{0, -1}, {0, 2}} {
		if err := hierCfg(hosts).Validate(); err == nil {
			t.Errorf("Hosts %v: want an error", hosts)
		}
	}
	// Length must match the world size.
	ts, _ := memFabric.build(t, 3)
	if _, err := allreduce.New(ts[0], hierCfg([]int{0, 1})); err == nil {
		t.Error("Hosts of 2 entries for world 3: want an error")
	}
}

func TestHierAbortMidCallOnEveryRank(t *testing.T) {
	abortOneMidCall(t, hierCfg([]int{0, 1, 0, 1}), inFlight)
}

func TestHierKilledRankMakesOthersFailFast(t *testing.T) {
	killedRankFailsFast(t, hierCfg([]int{0, 0, 1, 1}), inFlight, 4)
}

// Steady state allocates nothing on the hierarchical path either (world 3,
// where every pair is linked: hosts {0, 1} and {2}).
func TestHierNoAllocationPerCall(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	allocsPerCall(t, tcpFabric, hierCfg([]int{0, 0, 1}), 300_000, func(c *allreduce.Comm, ctx context.Context, buf []float32) error {
		return c.AllReduce(ctx, buf, allreduce.Mean)
	})
}
