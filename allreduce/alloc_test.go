package allreduce_test

import (
	"context"
	"testing"

	"github.com/ringtrain/ringtrain/allreduce"
)

// Steady state allocates nothing: not the schedules, not the frames (with
// and without the payload checksum), not the context watch, on either side
// (AllocsPerRun counts the whole process).
func TestNoAllocationPerCall(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for _, tc := range []struct {
		name string
		n    int
		call func(c *allreduce.Comm, ctx context.Context, buf []float32) error
	}{
		{"ring", 300_000, func(c *allreduce.Comm, ctx context.Context, buf []float32) error {
			return c.AllReduce(ctx, buf, allreduce.Mean)
		}},
		{"recursive-doubling", 100, func(c *allreduce.Comm, ctx context.Context, buf []float32) error {
			return c.AllReduce(ctx, buf, allreduce.Sum)
		}},
		{"reduce-scatter+all-gather", 300_000, func(c *allreduce.Comm, ctx context.Context, buf []float32) error {
			if _, _, err := c.ReduceScatter(ctx, buf, allreduce.Sum); err != nil {
				return err
			}
			return c.AllGather(ctx, buf)
		}},
		// 4 buckets crossing the 3 shards, reduced back to front, gathered front to back.
		{"reduce-scatter-range+all-gather-range", 300_000, func(c *allreduce.Comm, ctx context.Context, buf []float32) error {
			return bucketed(ctx, c, buf, 4, allreduce.Mean)
		}},
		{"barrier", 0, func(c *allreduce.Comm, ctx context.Context, buf []float32) error { return c.Barrier(ctx) }},
		// The replica stream: half of buf to the next rank, the previous
		// rank's into the other half; sequential, then pipelined (over 2 MiB).
		{"shift", 2000, shiftHalves},
		{"shift/pipelined", 1_200_000, shiftHalves},
	} {
		for _, f := range []fabric{tcpFabric, tcpChecksumFabric} {
			t.Run(tc.name+"/"+f.name, func(t *testing.T) { allocsPerCall(t, f, smallCfg(), tc.n, tc.call) })
		}
		t.Run(tc.name+"/bf16", func(t *testing.T) { allocsPerCall(t, tcpFabric, compressedCfg(allreduce.CompressBF16), tc.n, tc.call) })
	}
}

func allocsPerCall(t *testing.T, f fabric, cfg allreduce.Config, n int, call func(c *allreduce.Comm, ctx context.Context, buf []float32) error) {
	const size = 3
	g := newGroup(t, f, size, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bufs := make([][]float32, size)
	for r := range bufs {
		bufs[r] = make([]float32, n)
	}
	start := make([]chan struct{}, size)
	done := make(chan error, size)
	for r := 1; r < size; r++ {
		start[r] = make(chan struct{})
		go func() {
			for range start[r] {
				done <- call(g.comms[r], ctx, bufs[r])
			}
		}()
	}
	defer func() {
		for r := 1; r < size; r++ {
			close(start[r])
		}
	}()
	once := func() {
		for r := 1; r < size; r++ {
			start[r] <- struct{}{}
		}
		if err := call(g.comms[0], ctx, bufs[0]); err != nil {
			t.Fatal(err)
		}
		for r := 1; r < size; r++ {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
	}
	once() // warm up: schedules, watches, socket buffers
	if a := testing.AllocsPerRun(20, once); a > 0 {
		t.Fatalf("%v allocations per call across %d ranks, want 0", a, size)
	}
}

func shiftHalves(c *allreduce.Comm, ctx context.Context, buf []float32) error {
	h := len(buf) / 2
	return c.Shift(ctx, buf[:h], buf[h:])
}
