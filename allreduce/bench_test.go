package allreduce_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/transport/mem"
)

// BenchmarkAllReduceTCP measures one in-process group over loopback TCP
// (all ranks in this process: a lower bound on per-call overhead; the
// process-level figures come from `ringtrain bench allreduce`), without and
// with the frames' payload checksum (name suffix /checksum).
func BenchmarkAllReduceTCP(b *testing.B) {
	for _, size := range []int{2, 4} {
		for _, bytes := range []int{4 << 10, 64 << 10, 1 << 20, 16 << 20} {
			for _, checksum := range []bool{false, true} {
				name := fmt.Sprintf("world%d/%dB", size, bytes)
				if checksum {
					name += "/checksum"
				}
				b.Run(name, func(b *testing.B) { benchAllReduceTCP(b, size, bytes, checksum) })
			}
		}
	}
}

func benchAllReduceTCP(b *testing.B, size, bytes int, checksum bool) {
	ts := connectTCP(b, size, quietTCPConfig(), checksum)
	comms, bufs := benchComms(b, size, bytes/4, func(r int) allreduce.Transport { return ts[r] })
	ctx := context.Background()
	start := make([]chan struct{}, size)
	done := make(chan error, size)
	for r := 1; r < size; r++ {
		start[r] = make(chan struct{})
		go func() {
			for range start[r] {
				done <- comms[r].AllReduce(ctx, bufs[r], allreduce.Sum)
			}
		}()
		defer close(start[r])
	}
	b.SetBytes(int64(bytes))
	b.ResetTimer()
	for range b.N {
		for r := 1; r < size; r++ {
			start[r] <- struct{}{}
		}
		if err := comms[0].AllReduce(ctx, bufs[0], allreduce.Sum); err != nil {
			b.Fatal(err)
		}
		for r := 1; r < size; r++ {
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkReduceScatterBuckets compares one ReduceScatter of a 2 MiB buffer
// with ReduceScatterRange over its 4 equal buckets (back to front, as a
// bucketed backward pass issues them), world 2 over transport/mem: the cost
// of reducing bucket by bucket instead of all at once (ns/op is one whole
// buffer either way).
func BenchmarkReduceScatterBuckets(b *testing.B) {
	const size, n, buckets = 2, (2 << 20) / 4, 4
	for _, tc := range []struct {
		name string
		call func(c *allreduce.Comm, ctx context.Context, buf []float32) error
	}{
		{"whole", func(c *allreduce.Comm, ctx context.Context, buf []float32) error {
			_, _, err := c.ReduceScatter(ctx, buf, allreduce.Sum)
			return err
		}},
		{"4buckets", func(c *allreduce.Comm, ctx context.Context, buf []float32) error {
			for k := buckets - 1; k >= 0; k-- {
				lo, hi := allreduce.ShardRange(len(buf), buckets, k)
				if err := c.ReduceScatterRange(ctx, buf, lo, hi, allreduce.Sum); err != nil {
					return err
				}
			}
			return nil
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			net := mem.NewNetwork(size, 0)
			comms, bufs := benchComms(b, size, n, func(r int) allreduce.Transport { return net.Endpoint(r) })
			ctx := context.Background()
			start, done := make(chan struct{}), make(chan error, 1)
			go func() {
				for range start {
					done <- tc.call(comms[1], ctx, bufs[1])
				}
			}()
			defer close(start)
			b.SetBytes(n * 4)
			b.ResetTimer()
			for range b.N {
				start <- struct{}{}
				if err := tc.call(comms[0], ctx, bufs[0]); err != nil {
					b.Fatal(err)
				}
				if err := <-done; err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchComms builds a Comm (default Config) over each rank's transport,
// closed at cleanup, and a buffer of n floats per rank.
func benchComms(b *testing.B, size, n int, transport func(r int) allreduce.Transport) ([]*allreduce.Comm, [][]float32) {
	comms := make([]*allreduce.Comm, size)
	bufs := make([][]float32, size)
	for r := range size {
		c, err := allreduce.New(transport(r), allreduce.DefaultConfig())
		if err != nil {
			b.Fatal(err)
		}
		comms[r] = c
		b.Cleanup(func() { c.Close() })
		bufs[r] = make([]float32, n)
	}
	return comms, bufs
}
